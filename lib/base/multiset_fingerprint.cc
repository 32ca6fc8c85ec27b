#include "base/multiset_fingerprint.h"

#include <bit>

#include "base/endian.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace thinmeta {

struct multiset_fingerprint_kernels {
	static bool add_fields_portable(multiset_fingerprint& to, const uint8_t* values, size_t n, unsigned shift,
	                                uint64_t limit)
	{
		// Checked first, so that nothing is added when a value is out of range.
		for (size_t i = 0; i < n; ++i)
			if ((load_le<uint64_t>(values + 8 * i) >> shift) >= limit)
				return false;
		multiset_fingerprint sum;
		for (size_t i = 0; i < n; ++i)
			sum.add(load_le<uint64_t>(values + 8 * i) >> shift);
		to += sum;
		return true;
	}

	static uint32_t add_2bit_counts_portable(multiset_fingerprint& to, const uint8_t* packed, uint64_t first,
	                                         uint32_t n, multiset_fingerprint& threes)
	{
		uint32_t in_use = 0;
		for (uint32_t i = 0; i < n;) {
			uint8_t byte = packed[i / 4];
			if (i % 4 == 0 && byte == 0) {
				i += 4;
				continue;
			}
			unsigned pair = byte >> (2 * (i % 4));
			unsigned count = (pair & 1) << 1 | ((pair >> 1) & 1);
			if (count == 3) {
				threes.add(first + i);
			} else if (count) {
				to.add(first + i, count);
				++in_use;
			}
			++i;
		}
		return in_use;
	}

#if defined(__x86_64__)
#define THINMETA_AVX512 __attribute__((target("avx512f,avx512dq,popcnt")))
	// Eight 64-bit lanes as GCC's vector type: its operators compile to the
	// AVX-512 instructions (vpmullq for *) without the intrinsics whose
	// undefined pass-through GCC 12 warns about.
	using lanes8 = uint64_t __attribute__((vector_size(64)));

	THINMETA_AVX512 static lanes8 mix_stafford13(lanes8 x)
	{
		using namespace mix64_constants;
		x = (x ^ (x >> 30)) * stafford13_1;
		x = (x ^ (x >> 27)) * stafford13_2;
		return x ^ (x >> 31);
	}

	THINMETA_AVX512 static lanes8 mix_murmur3(lanes8 x)
	{
		using namespace mix64_constants;
		x = (x ^ (x >> 33)) * murmur3_1;
		x = (x ^ (x >> 33)) * murmur3_2;
		return x ^ (x >> 33);
	}

	THINMETA_AVX512 static uint64_t lane_sum(lanes8 x)
	{
		uint64_t sum = 0;
		for (int k = 0; k < 8; ++k)
			sum += x[k];
		return sum;
	}

	THINMETA_AVX512 static lanes8 masked_add(lanes8 sum, __mmask8 lanes, lanes8 x)
	{
		return (lanes8)_mm512_mask_add_epi64((__m512i)sum, lanes, (__m512i)sum, (__m512i)x);
	}

	THINMETA_AVX512 static bool add_fields_avx512(multiset_fingerprint& to, const uint8_t* values, size_t n,
	                                              unsigned shift, uint64_t limit)
	{
		const lanes8 limits = (lanes8)_mm512_set1_epi64(static_cast<long long>(limit));
		lanes8 sum_a = {}, sum_b = {};
		__mmask8 out_of_range = 0;
		for (size_t i = 0; i < n; i += 8) {
			__mmask8 lanes = n - i >= 8 ? __mmask8(0xFF) : static_cast<__mmask8>((1u << (n - i)) - 1);
			lanes8 x = (lanes8)_mm512_maskz_loadu_epi64(lanes, values + 8 * i) >> shift;
			out_of_range |= _mm512_mask_cmpge_epu64_mask(lanes, (__m512i)x, (__m512i)limits);
			sum_a = masked_add(sum_a, lanes, mix_stafford13(x ^ multiset_fingerprint::salt_a));
			sum_b = masked_add(sum_b, lanes, mix_murmur3(x ^ multiset_fingerprint::salt_b));
		}
		if (out_of_range)
			return false;
		to.size_ += n;
		to.sum_a_ += lane_sum(sum_a);
		to.sum_b_ += lane_sum(sum_b);
		return true;
	}

	THINMETA_AVX512 static uint32_t add_2bit_counts_avx512(multiset_fingerprint& to, const uint8_t* packed,
	                                                       uint64_t first, uint32_t n, multiset_fingerprint& threes)
	{
		const lanes8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
		const lanes8 shifts = lane * 2;
		lanes8 sum_a = {}, sum_b = {}, three_a = {}, three_b = {};
		uint64_t size = 0, nr_threes = 0;
		uint32_t in_use = 0;
		// Eight counts (two bytes) at a time, skipping those all 0.
		uint32_t whole = n / 8 * 8;
		for (uint32_t i = 0; i < whole; i += 8) {
			uint16_t eight = load_le<uint16_t>(packed + i / 4);
			if (!eight)
				continue;
			lanes8 counts = (lanes8{} + eight) >> shifts;
			__mmask8 high = _mm512_test_epi64_mask((__m512i)counts, _mm512_set1_epi64(1));
			__mmask8 low = _mm512_test_epi64_mask((__m512i)counts, _mm512_set1_epi64(2));
			__mmask8 ones = low & ~high, twos = high & ~low, three = low & high;
			lanes8 x = lane + (first + i);
			lanes8 a = mix_stafford13(x ^ multiset_fingerprint::salt_a);
			lanes8 b = mix_murmur3(x ^ multiset_fingerprint::salt_b);
			sum_a = masked_add(masked_add(sum_a, ones, a), twos, a + a);
			sum_b = masked_add(masked_add(sum_b, ones, b), twos, b + b);
			three_a = masked_add(three_a, three, a);
			three_b = masked_add(three_b, three, b);
			size += std::popcount(unsigned(ones)) + 2 * std::popcount(unsigned(twos));
			in_use += std::popcount(unsigned(ones | twos));
			nr_threes += std::popcount(unsigned(three));
		}
		to.size_ += size;
		to.sum_a_ += lane_sum(sum_a);
		to.sum_b_ += lane_sum(sum_b);
		threes.size_ += nr_threes;
		threes.sum_a_ += lane_sum(three_a);
		threes.sum_b_ += lane_sum(three_b);
		// The last few, from a byte boundary.
		if (whole < n)
			in_use += add_2bit_counts_portable(to, packed + whole / 4, first + whole, n - whole, threes);
		return in_use;
	}
#undef THINMETA_AVX512
#endif
};

namespace {

std::vector<multiset_fingerprint_implementation> runnable_implementations()
{
	using k = multiset_fingerprint_kernels;
	std::vector<multiset_fingerprint_implementation> out;
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
		out.push_back({"AVX-512", k::add_fields_avx512, k::add_2bit_counts_avx512});
#endif
	out.push_back({"portable", k::add_fields_portable, k::add_2bit_counts_portable});
	return out;
}

// Chosen once from the CPU's features; constant for the life of the process.
const multiset_fingerprint_implementation implementation = runnable_implementations().front();

}

bool multiset_fingerprint::add_fields(const uint8_t* values, size_t n, unsigned shift, uint64_t limit)
{
	return implementation.add_fields(*this, values, n, shift, limit);
}

uint32_t multiset_fingerprint::add_2bit_counts(const uint8_t* packed, uint64_t first, uint32_t n,
                                               multiset_fingerprint& threes)
{
	return implementation.add_2bit_counts(*this, packed, first, n, threes);
}

std::vector<multiset_fingerprint_implementation> multiset_fingerprint_implementations()
{
	return runnable_implementations();
}

}
