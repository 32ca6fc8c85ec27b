#include <catch2/catch.hpp>

#include "base/error.h"
#include "ops/rmap_regions.h"

using namespace thinmeta;
using namespace thinmeta::ops;

TEST_CASE("regions parse as BEGIN..END, END one past the last block", "[rmap]")
{
	auto r = parse_data_region("5..45");
	CHECK(r.begin == 5);
	CHECK(r.end == 45);
	CHECK(parse_data_region("0..18446744073709551615").end == UINT64_MAX);
	CHECK_THROWS_WITH(parse_data_region("5-45"), Catch::Contains("not of the form BEGIN..END"));
	CHECK_THROWS_WITH(parse_data_region("5..5"), Catch::Contains("is empty"));
	CHECK_THROWS_WITH(parse_data_region("9..5"), Catch::Contains("is empty"));
	for (const char* bad : {"..5", "5..", "a..5", "5..4x", "-1..5", "5...6", " 5..6"})
		CHECK_THROWS_AS(parse_data_region(bad), error);
}

TEST_CASE("a region set merges overlapping and touching regions", "[rmap]")
{
	region_set s({{10, 20}, {0, 3}, {15, 30}, {30, 31}, {100, 101}});
	for (uint64_t b : {0, 2, 10, 19, 20, 29, 30, 100})
		CHECK(s.contains(b));
	for (uint64_t b : {3, 9, 31, 99, 101, 1000})
		CHECK(!s.contains(b));
	CHECK(region_set({}).empty());
}
