#include <catch2/catch.hpp>

#include <utility>
#include <vector>

#include "sim/discard_split.h"

using thinmeta::sim::for_each_discard_piece;

namespace {

using pieces = std::vector<std::pair<uint64_t, uint64_t>>;

pieces split(uint64_t start, uint64_t length, uint64_t granularity)
{
	pieces out;
	for_each_discard_piece(start, length, granularity, [&](uint64_t b, uint64_t e) { out.emplace_back(b, e); });
	return out;
}

// The blocks dm-thin unmaps: those each piece covers whole.
std::vector<uint64_t> unmapped(uint64_t start, uint64_t length, uint64_t g)
{
	std::vector<uint64_t> blocks;
	for (auto [b, e] : split(start, length, g))
		for (uint64_t v = (b + g - 1) / g; v < e / g; ++v)
			blocks.push_back(v);
	return blocks;
}

}

TEST_CASE("discards on power-of-two block sizes unmap the blocks they cover whole")
{
	CHECK(split(0, 1024, 128) == pieces{{0, 1024}});
	CHECK(split(100, 300, 128) == pieces{{100, 128}, {128, 400}});
	CHECK(unmapped(100, 300, 128) == std::vector<uint64_t>{1, 2});
	CHECK(unmapped(1, 126, 128).empty());
}

TEST_CASE("discards on other block sizes are cut with power-of-two arithmetic, as Linux 6.1 does")
{
	// 384-sector blocks: [768, 1920) covers blocks 2-4, but the cut at 1024
	// leaves only 3 and 4 whole.
	CHECK(split(768, 1152, 384) == pieces{{768, 1024}, {1024, 1920}});
	CHECK(unmapped(768, 1152, 384) == std::vector<uint64_t>{3, 4});
	CHECK(unmapped(200, 1700, 384) == std::vector<uint64_t>{2, 3});
	// ((3072 - 1) | 383) + 1 == 3072: no cut, the range is exact.
	CHECK(split(3072, 1152, 384) == pieces{{3072, 4224}});
	CHECK(unmapped(3072, 1152, 384) == std::vector<uint64_t>{8, 9, 10});
}

TEST_CASE("long discards are cut every 4 GiB less a granule")
{
	uint64_t length = uint64_t(20) << 21;  // 20 GiB in sectors
	pieces p = split(0, length, 128);
	REQUIRE(p.size() == 6);
	CHECK(p[0] == std::make_pair<uint64_t, uint64_t>(0, 8388480));
	CHECK(p[1].first == 8388480);
	CHECK(p.back().second == length);
	uint64_t total = 0;
	for (auto [b, e] : p)
		total += e - b;
	CHECK(total == length);
}
