#include "base/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>
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
__attribute__((target("sse4.2"))) uint32_t crc32c_update_sse42(uint32_t crc, const void* data, size_t len)
{
	auto p = static_cast<const uint8_t*>(data);
	uint64_t c = crc;
	while (len && (reinterpret_cast<uintptr_t>(p) & 7)) {
		c = _mm_crc32_u8(static_cast<uint32_t>(c), *p++);
		--len;
	}
	while (len >= 8) {
		uint64_t v;
		std::memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8(static_cast<uint32_t>(c), *p++);
	return static_cast<uint32_t>(c);
}

bool cpu_has_sse42()
{
	unsigned eax, ebx, ecx, edx;
	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
		return false;
	return (ecx & bit_SSE4_2) != 0;
}
#endif

using crc_fn = uint32_t (*)(uint32_t, const void*, size_t);

crc_fn select_implementation()
{
#if defined(__x86_64__)
	if (cpu_has_sse42())
		return crc32c_update_sse42;
#endif
	return crc32c_update_portable;
}

// Chosen once from the CPU's features; constant for the life of the process.
const crc_fn implementation = select_implementation();

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

bool crc32c_is_hardware()
{
	return implementation != crc32c_update_portable;
}

}
