#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "base/radix_sort.h"

using thinmeta::radix_sort;

TEST_CASE("radix_sort sorts as std::sort does", "[radix_sort]")
{
	std::mt19937_64 rng(11);
	std::vector<uint64_t> scratch;
	for (unsigned bits : {1u, 16u, 17u, 40u, 64u}) {
		for (size_t n : {size_t(0), size_t(1), size_t(1000), size_t(300'000)}) {
			std::vector<uint64_t> keys(n);
			uint64_t mask = bits == 64 ? UINT64_MAX : (uint64_t(1) << bits) - 1;
			for (auto& k : keys)
				k = rng() & mask;
			auto want = keys;
			std::sort(want.begin(), want.end());
			radix_sort(keys, bits, scratch);
			INFO("bits " << bits << ", " << n << " keys");
			CHECK(keys == want);
		}
	}
}
