#include "base/crc32c.h"

#include <array>
#include <vector>

#include "base/endian.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace thinmeta {
namespace {

constexpr uint32_t castagnoli_reflected = 0x82F63B78u;

// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes.
constexpr std::array<std::array<uint32_t, 256>, 8> make_tables()
{
	std::array<std::array<uint32_t, 256>, 8> t{};
	for (uint32_t b = 0; b < 256; ++b) {
		uint32_t c = b;
		for (int i = 0; i < 8; ++i)
			c = (c >> 1) ^ ((c & 1) ? castagnoli_reflected : 0);
		t[0][b] = c;
	}
	for (uint32_t b = 0; b < 256; ++b)
		for (int k = 1; k < 8; ++k)
			t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
	return t;
}

constexpr auto tables = make_tables();

#if defined(__x86_64__)
// Multiplies a reflected polynomial by x^n modulo the Castagnoli polynomial.
constexpr uint32_t times_x_to_the(uint32_t v, unsigned n)
{
	while (n--)
		v = (v >> 1) ^ ((v & 1) ? castagnoli_reflected : 0);
	return v;
}

// The factor that moves a CRC past n bytes: x^(8n - 33) mod P. The CRC of A
// followed by n bytes B is A's CRC times x^(8n), xor B's CRC from zero. The
// carry-less product of two reflected 32-bit values, read as a 64-bit one,
// carries one extra factor x, and the crc32 instruction multiplies by x^32
// as it reduces: 1 + 32 + (8n - 33) = 8n.
constexpr uint32_t factor_to_skip(size_t n)
{
	return times_x_to_the(0x80000000u, static_cast<unsigned>(8 * n - 33));
}

// The crc32 instruction takes three cycles but can start one per cycle: three
// independent stripes keep it busy. A 4096-byte block's 4092 checksummed bytes
// are one round of three 1360-byte stripes plus a short tail.
constexpr size_t stripe = 1360;
constexpr uint32_t skip_one_stripe = factor_to_skip(stripe);
constexpr uint32_t skip_two_stripes = factor_to_skip(2 * stripe);

__attribute__((target("sse4.2,pclmul"))) inline uint64_t skip(uint64_t crc, uint32_t factor)
{
	__m128i product = _mm_clmulepi64_si128(_mm_cvtsi64_si128(static_cast<int64_t>(crc)),
	                                       _mm_cvtsi32_si128(static_cast<int>(factor)), 0);
	return _mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(product)));
}

__attribute__((target("sse4.2"))) uint32_t crc32c_update_sse42(uint32_t crc, const void* data, size_t len)
{
	auto p = static_cast<const uint8_t*>(data);
	uint64_t c = crc;
	while (len >= 8) {
		c = _mm_crc32_u64(c, load_le64(p));
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8(static_cast<uint32_t>(c), *p++);
	return static_cast<uint32_t>(c);
}

__attribute__((target("sse4.2,pclmul"))) uint32_t crc32c_update_striped(uint32_t crc, const void* data, size_t len)
{
	auto p = static_cast<const uint8_t*>(data);
	uint64_t c = crc;
	while (len >= 3 * stripe) {
		uint64_t second = 0, third = 0;
		for (size_t i = 0; i < stripe; i += 8) {
			c = _mm_crc32_u64(c, load_le64(p + i));
			second = _mm_crc32_u64(second, load_le64(p + stripe + i));
			third = _mm_crc32_u64(third, load_le64(p + 2 * stripe + i));
		}
		c = skip(c, skip_two_stripes) ^ skip(second, skip_one_stripe) ^ third;
		p += 3 * stripe;
		len -= 3 * stripe;
	}
	return crc32c_update_sse42(static_cast<uint32_t>(c), p, len);
}

// Folding, where the CPU multiplies carry-less on 512-bit registers
// (VPCLMULQDQ with AVX-512): four registers hold 256 bytes of the message,
// and each step moves them 256 bytes on (multiplying each 64-bit half by
// x^k mod P) and adds the next 256 bytes; what is left is folded into 16
// bytes the crc32 instruction finishes, with the tail. As skip() above: the
// product of a 64-bit half that ends n bits before the point it is moved to,
// by a 32-bit factor, carries x^33 of its own, so the factor is x^(n - 33).
// A 4 KiB block in the cache takes half the striped loop's time.
struct fold_factors {
	uint32_t earlier_half;  // the half that comes first: 64 bits further to go
	uint32_t later_half;
};

constexpr fold_factors fold_by(size_t bytes)
{
	return {times_x_to_the(0x80000000u, static_cast<unsigned>(8 * bytes + 64 - 33)),
	        times_x_to_the(0x80000000u, static_cast<unsigned>(8 * bytes - 33))};
}

constexpr fold_factors fold_256 = fold_by(256);
constexpr fold_factors fold_64 = fold_by(64);
constexpr fold_factors fold_48 = fold_by(48);
constexpr fold_factors fold_32 = fold_by(32);
constexpr fold_factors fold_16 = fold_by(16);

__attribute__((target("avx512f,vpclmulqdq"))) inline __m512i factors_512(fold_factors f)
{
	return _mm512_set_epi64(f.later_half, f.earlier_half, f.later_half, f.earlier_half, f.later_half, f.earlier_half,
	                        f.later_half, f.earlier_half);
}

// Each 128-bit lane of x moved on by the factors' distance, plus `next`.
__attribute__((target("avx512f,vpclmulqdq"))) inline __m512i fold(__m512i x, __m512i factors, __m512i next)
{
	return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, factors, 0x00),
	                                 _mm512_clmulepi64_epi128(x, factors, 0x11), next, 0x96);
}

__attribute__((target("sse4.2,pclmul"))) inline __m128i fold(__m128i x, fold_factors f)
{
	__m128i factors = _mm_set_epi64x(f.later_half, f.earlier_half);
	return _mm_xor_si128(_mm_clmulepi64_si128(x, factors, 0x00), _mm_clmulepi64_si128(x, factors, 0x11));
}

__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul"))) uint32_t crc32c_update_folded(uint32_t crc,
                                                                                          const void* data,
                                                                                          size_t len)
{
	auto p = static_cast<const uint8_t*>(data);
	if (len < 256)
		return crc32c_update_striped(crc, p, len);
	// The CRC so far joins the message's first 32 bits.
	__m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(p), _mm512_zextsi128_si512(_mm_cvtsi32_si128(static_cast<int>(crc))));
	__m512i x1 = _mm512_loadu_si512(p + 64);
	__m512i x2 = _mm512_loadu_si512(p + 128);
	__m512i x3 = _mm512_loadu_si512(p + 192);
	p += 256;
	len -= 256;
	const __m512i by_256 = factors_512(fold_256);
	for (; len >= 256; p += 256, len -= 256) {
		x0 = fold(x0, by_256, _mm512_loadu_si512(p));
		x1 = fold(x1, by_256, _mm512_loadu_si512(p + 64));
		x2 = fold(x2, by_256, _mm512_loadu_si512(p + 128));
		x3 = fold(x3, by_256, _mm512_loadu_si512(p + 192));
	}
	const __m512i by_64 = factors_512(fold_64);
	__m512i x = fold(fold(fold(x0, by_64, x1), by_64, x2), by_64, x3);
	for (; len >= 64; p += 64, len -= 64)
		x = fold(x, by_64, _mm512_loadu_si512(p));
	// (The masked form of the lane extraction: the plain one trips GCC 12's
	// uninitialised-use warning on its undefined source.)
	__m128i lane0 = _mm512_mask_extracti32x4_epi32(_mm_setzero_si128(), 0xF, x, 0);
	__m128i lane1 = _mm512_mask_extracti32x4_epi32(_mm_setzero_si128(), 0xF, x, 1);
	__m128i lane2 = _mm512_mask_extracti32x4_epi32(_mm_setzero_si128(), 0xF, x, 2);
	__m128i lane3 = _mm512_mask_extracti32x4_epi32(_mm_setzero_si128(), 0xF, x, 3);
	__m128i last = _mm_xor_si128(_mm_xor_si128(fold(lane0, fold_48), fold(lane1, fold_32)),
	                             _mm_xor_si128(fold(lane2, fold_16), lane3));
	uint64_t c = _mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(last)));
	c = _mm_crc32_u64(c, static_cast<uint64_t>(_mm_extract_epi64(last, 1)));
	return crc32c_update_sse42(static_cast<uint32_t>(c), p, len);
}

bool cpu_has(unsigned feature_bit)
{
	unsigned eax, ebx, ecx, edx;
	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
		return false;
	return (ecx & feature_bit) != 0;
}
#endif

// Those this CPU runs, fastest first.
std::vector<crc32c_implementation> runnable_implementations()
{
	std::vector<crc32c_implementation> out;
#if defined(__x86_64__)
	__builtin_cpu_init();
	bool sse42 = cpu_has(bit_SSE4_2), pclmul = cpu_has(bit_PCLMUL);
	if (sse42 && pclmul && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq"))
		out.push_back({"folded (VPCLMULQDQ, AVX-512)", crc32c_update_folded});
	if (sse42 && pclmul)
		out.push_back({"striped (SSE4.2, PCLMULQDQ)", crc32c_update_striped});
	if (sse42)
		out.push_back({"SSE4.2", crc32c_update_sse42});
#endif
	out.push_back({"portable", crc32c_update_portable});
	return out;
}

// Chosen once from the CPU's features; constant for the life of the process.
const crc32c_update_fn implementation = runnable_implementations().front().update;

}

uint32_t crc32c_update_portable(uint32_t crc, const void* data, size_t len)
{
	auto p = static_cast<const uint8_t*>(data);
	while (len >= 8) {
		uint32_t lo = crc ^ (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24);
		crc = tables[7][lo & 0xFF] ^ tables[6][(lo >> 8) & 0xFF] ^ tables[5][(lo >> 16) & 0xFF] ^
		      tables[4][lo >> 24] ^ tables[3][p[4]] ^ tables[2][p[5]] ^ tables[1][p[6]] ^ tables[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ tables[0][(crc ^ *p++) & 0xFF];
	return crc;
}

uint32_t crc32c_update(uint32_t crc, const void* data, size_t len)
{
	return implementation(crc, data, len);
}

std::vector<crc32c_implementation> crc32c_implementations()
{
	return runnable_implementations();
}

bool crc32c_is_hardware()
{
	return implementation != crc32c_update_portable;
}

}
