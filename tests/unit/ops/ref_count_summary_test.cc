// ref_count_summary: the same pairs in any order fingerprint alike; a
// changed count, a moved block, a missing or an extra pair do not.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "ops/ref_count_summary.h"

using thinmeta::ops::ref_count_summary;

namespace {

using pairs = std::vector<std::pair<uint64_t, uint32_t>>;

ref_count_summary summarise(const pairs& p)
{
	ref_count_summary s;
	for (auto [block, count] : p)
		s.add(block, count);
	return s;
}

pairs sample()
{
	pairs p;
	for (uint64_t b = 0; b < 5000; ++b)
		p.emplace_back(b * 7 + 3, static_cast<uint32_t>(3 + b % 11));
	return p;
}

}

TEST_CASE("ref_count_summary does not depend on order", "[ref_count_summary]")
{
	pairs p = sample();
	ref_count_summary in_order = summarise(p);
	std::reverse(p.begin(), p.end());
	CHECK(summarise(p) == in_order);
	std::rotate(p.begin(), p.begin() + 1234, p.end());
	CHECK(summarise(p) == in_order);
	CHECK(in_order.pairs() == 5000);
	CHECK(ref_count_summary() == summarise({}));
}

TEST_CASE("ref_count_summary tells sets apart", "[ref_count_summary]")
{
	const pairs p = sample();
	const ref_count_summary original = summarise(p);

	pairs changed = p;
	changed[100].second += 1;
	CHECK_FALSE(summarise(changed) == original);

	pairs moved = p;
	moved[100].first += 1;
	CHECK_FALSE(summarise(moved) == original);

	// Two counts traded between blocks keep the sum of counts.
	pairs traded = p;
	std::swap(traded[10].second, traded[11].second);
	REQUIRE(traded[10].second != traded[11].second);
	CHECK_FALSE(summarise(traded) == original);

	pairs missing = p;
	missing.pop_back();
	CHECK_FALSE(summarise(missing) == original);

	pairs extra = p;
	extra.emplace_back(1, 3);
	CHECK_FALSE(summarise(extra) == original);

	// A count past 24 bits, and a block high in the 40 bits of a data block.
	pairs large = p;
	large[30].second += 1u << 24;
	CHECK_FALSE(summarise(large) == original);
	pairs high = p;
	high[40].first += uint64_t(1) << 39;
	CHECK_FALSE(summarise(high) == original);

	// A pair counted twice and another left out keep the number of pairs.
	pairs repeated = p;
	repeated[20] = repeated[21];
	CHECK_FALSE(summarise(repeated) == original);
}
