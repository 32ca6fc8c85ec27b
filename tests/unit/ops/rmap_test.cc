#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/progress.h"
#include "ops/restore.h"
#include "ops/rmap.h"
#include "ops/rmap_regions.h"
#include "support/temp_file.h"

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

namespace {

// A pool with long runs, which cross the windows of data blocks thin_rmap
// lists one at a time when the hits are many: devices 0 and 1 map 0..69999 to data 0..69999, except that device 0 has
// 65530..65540 elsewhere; device 2 maps 10..70009 to 70011..140010;
// device 3 maps 0..14 to 160054..160068, across the 64-block bucket at
// 160064, then 15 back to 160000, in the first bucket.
std::string write_crossing_pool(const test::temp_dir& dir)
{
	std::string xml = dir.file("pool.xml");
	std::ofstream(xml)
	    << "<superblock uuid=\"\" time=\"1\" transaction=\"1\" flags=\"0\" version=\"2\" data_block_size=\"128\""
	       " nr_data_blocks=\"200000\">\n"
	       "<device dev_id=\"0\" mapped_blocks=\"70000\" transaction=\"0\" creation_time=\"0\" snap_time=\"1\">\n"
	       "<range_mapping origin_begin=\"0\" data_begin=\"0\" length=\"65530\" time=\"0\"/>\n"
	       "<range_mapping origin_begin=\"65530\" data_begin=\"70000\" length=\"11\" time=\"1\"/>\n"
	       "<range_mapping origin_begin=\"65541\" data_begin=\"65541\" length=\"4459\" time=\"0\"/>\n"
	       "</device>\n"
	       "<device dev_id=\"1\" mapped_blocks=\"70000\" transaction=\"0\" creation_time=\"1\" snap_time=\"1\">\n"
	       "<range_mapping origin_begin=\"0\" data_begin=\"0\" length=\"70000\" time=\"0\"/>\n"
	       "</device>\n"
	       "<device dev_id=\"2\" mapped_blocks=\"70000\" transaction=\"0\" creation_time=\"1\" snap_time=\"1\">\n"
	       "<range_mapping origin_begin=\"10\" data_begin=\"70011\" length=\"70000\" time=\"1\"/>\n"
	       "</device>\n"
	       "<device dev_id=\"3\" mapped_blocks=\"16\" transaction=\"0\" creation_time=\"1\" snap_time=\"1\">\n"
	       "<range_mapping origin_begin=\"0\" data_begin=\"160054\" length=\"15\" time=\"1\"/>\n"
	       "<single_mapping origin_block=\"15\" data_block=\"160000\" time=\"1\"/>\n"
	       "</device>\n"
	       "</superblock>\n";
	std::string meta = dir.write("pool.bin", std::vector<uint8_t>(16 << 20));
	struct : restore_warnings {
		void warning(const std::string& text) override { FAIL(text); }
	} warnings;
	no_progress progress;
	restore({xml, meta, {}}, progress, warnings);
	return meta;
}

std::string rmap_of(const std::string& path, std::vector<data_region> regions, uint64_t runs_per_window)
{
	rmap_options options;
	options.source.path = path;
	options.regions = std::move(regions);
	options.runs_per_window = runs_per_window;
	std::ostringstream out;
	write_rmap(options, out);
	return out.str();
}

}

TEST_CASE("runs are listed whole however the data blocks are windowed", "[rmap]")
{
	test::temp_dir dir;
	std::string pool = write_crossing_pool(dir);
	const std::string all = "data 0..65530 -> thin(0) 0..65530\n"
	                        "data 0..70000 -> thin(1) 0..70000\n"
	                        "data 65541..70000 -> thin(0) 65541..70000\n"
	                        "data 70000..70011 -> thin(0) 65530..65541\n"
	                        "data 70011..140011 -> thin(2) 10..70010\n"
	                        "data 160000..160001 -> thin(3) 15..16\n"
	                        "data 160054..160069 -> thin(3) 0..15\n";
	// One window (every hit kept), a window per bucket of 64 data blocks,
	// and a few hundred buckets per window.
	for (uint64_t window : {uint64_t(0), uint64_t(1), uint64_t(30000)}) {
		INFO("runs per window " << window);
		CHECK(rmap_of(pool, {{0, 200000}}, window) == all);
		CHECK(rmap_of(pool, {{65536, 131073}}, window) ==
		      "data 65536..70000 -> thin(1) 65536..70000\n"
		      "data 65541..70000 -> thin(0) 65541..70000\n"
		      "data 70000..70011 -> thin(0) 65530..65541\n"
		      "data 70011..131073 -> thin(2) 10..61072\n");
		CHECK(rmap_of(pool, {{65529, 65531}, {131071, 131075}}, window) ==
		      "data 65529..65530 -> thin(0) 65529..65530\n"
		      "data 65529..65531 -> thin(1) 65529..65531\n"
		      "data 131071..131075 -> thin(2) 61070..61074\n");
	}
	// Two regions within one window: 40 runs at most in the first bucket
	// of 64 data blocks, more than the 30 a window holds.
	CHECK(rmap_of(pool, {{0, 10}, {20, 30}}, 30) == "data 0..10 -> thin(0) 0..10\n"
	                                                "data 0..10 -> thin(1) 0..10\n"
	                                                "data 20..30 -> thin(0) 20..30\n"
	                                                "data 20..30 -> thin(1) 20..30\n");
}
