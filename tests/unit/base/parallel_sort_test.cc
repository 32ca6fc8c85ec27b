#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "base/parallel_sort.h"

using thinmeta::parallel_sort;

namespace {

struct record {
	uint64_t key;
	uint32_t tag;
};

bool before(const record& a, const record& b)
{
	return a.key != b.key ? a.key < b.key : a.tag < b.tag;
}

}

TEST_CASE("parallel_sort orders what std::sort orders, split or not", "[parallel_sort]")
{
	std::mt19937_64 rng(11);
	for (size_t n : {0u, 1u, 2u, 999u, 1000u, 1001u, 100'000u}) {
		std::vector<record> records(n);
		for (size_t i = 0; i < n; ++i)
			records[i] = {rng() % 5000, static_cast<uint32_t>(i)};  // many equal keys
		std::vector<record> want = records;
		std::sort(want.begin(), want.end(), before);
		parallel_sort(records.data(), records.data() + n, before, 1000);
		REQUIRE(records.size() == want.size());
		for (size_t i = 0; i < n; ++i) {
			CHECK(records[i].key == want[i].key);
			CHECK(records[i].tag == want[i].tag);
		}
	}
}

TEST_CASE("parallel_sort merges halves that interleave", "[parallel_sort]")
{
	// The first half holds the odd keys and the second the even ones, both
	// descending: every record moves.
	const uint64_t n = 4096;
	std::vector<record> records;
	for (uint64_t k = n; k-- > 0;)
		if (k % 2)
			records.push_back({k, 0});
	for (uint64_t k = n; k-- > 0;)
		if (k % 2 == 0)
			records.push_back({k, 0});
	parallel_sort(records.data(), records.data() + records.size(), before, 16);
	for (uint64_t k = 0; k < n; ++k)
		CHECK(records[k].key == k);
}
