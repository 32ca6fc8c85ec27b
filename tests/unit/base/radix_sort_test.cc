#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "base/radix_sort.h"

using thinmeta::stable_radix_sort;

namespace {

struct record {
	uint64_t key;
	uint64_t made;  // its place before sorting

	bool operator==(const record&) const = default;
};

}

TEST_CASE("stable_radix_sort sorts as std::stable_sort does", "[radix_sort]")
{
	std::mt19937_64 rng(11);
	std::vector<record> scratch;
	for (unsigned bits : {0u, 1u, 16u, 17u, 40u, 64u}) {
		for (size_t n : {size_t(0), size_t(1), size_t(1000), size_t(300'000)}) {
			std::vector<record> items(n);
			uint64_t mask = bits == 64 ? UINT64_MAX : (uint64_t(1) << bits) - 1;
			for (size_t i = 0; i < n; ++i)
				items[i] = {rng() & mask, i};
			auto want = items;
			std::stable_sort(want.begin(), want.end(), [](const record& a, const record& b) { return a.key < b.key; });
			stable_radix_sort(items, bits, [](const record& r) { return r.key; }, scratch);
			INFO("bits " << bits << ", " << n << " records");
			CHECK(items == want);
		}
	}
}

TEST_CASE("stable_radix_sort keeps the order of records sharing a key", "[radix_sort]")
{
	// Few keys, many records each: stability decides the whole result.
	std::mt19937_64 rng(12);
	std::vector<record> items(200'000);
	for (size_t i = 0; i < items.size(); ++i)
		items[i] = {(rng() % 3) << 20, i};
	std::vector<record> scratch;
	stable_radix_sort(items, 22, [](const record& r) { return r.key; }, scratch);
	for (size_t i = 1; i < items.size(); ++i) {
		INFO("records " << i - 1 << " and " << i);
		REQUIRE(std::pair(items[i - 1].key, items[i - 1].made) < std::pair(items[i].key, items[i].made));
	}
}
