#include <catch2/catch.hpp>

#include <cstdint>

#include "base/pod_vector.h"

using thinmeta::pod_vector;

TEST_CASE("pod_vector made with a size holds zeros", "[pod_vector]")
{
	pod_vector<uint32_t> v(100'000);
	REQUIRE(v.size() == 100'000);
	uint64_t sum = 0;
	for (uint32_t x : v)
		sum += x;
	CHECK(sum == 0);
	v[99'999] = 7;
	CHECK(v[99'999] == 7);
	CHECK(pod_vector<uint32_t>(0).empty());
}

TEST_CASE("pod_vector keeps its values as it grows, moves and clears", "[pod_vector]")
{
	struct pair {
		uint64_t a;
		uint32_t b;
	};
	pod_vector<pair> v;
	for (uint32_t i = 0; i < 1'000'000; ++i)
		v.push_back({i * 3ull, i});
	REQUIRE(v.size() == 1'000'000);
	bool intact = true;
	for (uint32_t i = 0; i < v.size(); ++i)
		intact = intact && v[i].a == i * 3ull && v[i].b == i;
	CHECK(intact);
	CHECK(v.back().b == 999'999);

	pod_vector<pair> w = std::move(v);
	CHECK(v.empty());
	CHECK(w.size() == 1'000'000);
	CHECK(w[123'456].a == 370'368);

	const pair* before = w.data();
	w.clear();
	CHECK(w.empty());
	w.push_back({1, 2});
	CHECK(w.data() == before);  // capacity kept
	w.reserve(10);              // never shrinks
	CHECK(w.data() == before);
	CHECK(w[0].a == 1);
	w.swap(v);
	CHECK(w.empty());
	CHECK(v.size() == 1);
}

TEST_CASE("pod_vector crosses from the heap to mapped memory with its values", "[pod_vector]")
{
	// 16-byte values: the array is mapped from 65,536 of them (1 MiB) on.
	struct pair {
		uint64_t a;
		uint64_t b;
	};
	pod_vector<pair> v;
	for (uint64_t i = 0; i < 60'000; ++i)
		v.push_back({i, ~i});
	v.reserve(70'000);  // the move from the heap
	for (uint64_t i = 60'000; i < 300'000; ++i)
		v.push_back({i, ~i});  // and growth by remapping
	bool intact = true;
	for (uint64_t i = 0; i < v.size(); ++i)
		intact = intact && v[i].a == i && v[i].b == ~i;
	CHECK(intact);
	CHECK(pod_vector<pair>(100'000)[99'999].b == 0);
}

TEST_CASE("pod_vector discard_prefix gives back whole pages of the prefix only", "[pod_vector]")
{
	pod_vector<uint64_t> v;
	for (uint64_t i = 0; i < 400'000; ++i)
		v.push_back(i + 1);
	// 4,000 values fill 7.8 pages: the first 7 (3,584 values) go.
	v.discard_prefix(4000);
	CHECK(v[0] == 0);
	CHECK(v[3583] == 0);
	CHECK(v[3584] == 3585);
	CHECK(v[4000] == 4001);
	CHECK(v[399'999] == 400'000);
	CHECK(v.size() == 400'000);

	// A small array lives on the heap and keeps its values.
	pod_vector<uint64_t> small;
	for (uint64_t i = 0; i < 1000; ++i)
		small.push_back(i + 1);
	small.discard_prefix(1000);
	CHECK(small[0] == 1);
}
