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
