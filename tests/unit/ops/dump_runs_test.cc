#include <catch2/catch.hpp>

#include <vector>

#include "ops/dump_runs.h"

using namespace thinmeta::ops;

namespace {

struct collect {
	std::vector<mapping_run>* out;
	void operator()(const mapping_run& r) const { out->push_back(r); }
};

std::vector<mapping_run> group(const std::vector<mapping_run>& mappings)
{
	std::vector<mapping_run> runs;
	mapping_run_grouper<collect> g(collect{&runs});
	for (const auto& m : mappings)
		g.add(m.origin_begin, m.data_begin, m.time);
	g.finish();
	return runs;
}

// A single mapping, written as a run of one.
mapping_run one(uint64_t origin, uint64_t data, uint32_t time)
{
	return {origin, data, 1, time};
}

}

TEST_CASE("no mappings make no runs", "[dump][runs]")
{
	CHECK(group({}).empty());
}

TEST_CASE("consecutive origin and data blocks with one time make one run", "[dump][runs]")
{
	CHECK(group({one(0, 10, 3), one(1, 11, 3), one(2, 12, 3)}) == std::vector<mapping_run>{{0, 10, 3, 3}});
}

TEST_CASE("a run ends where the origin, the data block or the time breaks", "[dump][runs]")
{
	auto runs = group({one(0, 10, 0), one(1, 11, 0),  // run of 2
	                   one(3, 12, 0),                 // origin gap
	                   one(4, 20, 0),                 // data jump
	                   one(5, 21, 1), one(6, 22, 1),  // time change, then a run of 2
	                   one(7, 22, 1)});               // data block repeated
	CHECK(runs == std::vector<mapping_run>{
	                  {0, 10, 2, 0}, {3, 12, 1, 0}, {4, 20, 1, 0}, {5, 21, 2, 1}, {7, 22, 1, 1}});
}

TEST_CASE("a backwards data block does not extend a run", "[dump][runs]")
{
	CHECK(group({one(5, 9, 0), one(6, 8, 0)}) == std::vector<mapping_run>{{5, 9, 1, 0}, {6, 8, 1, 0}});
}

TEST_CASE("finish emits the open run once and starts afresh", "[dump][runs]")
{
	std::vector<mapping_run> runs;
	mapping_run_grouper<collect> g(collect{&runs});
	g.add(0, 0, 0);
	g.add(1, 1, 0);
	g.finish();
	g.finish();
	// The next device's first mapping continues the numbers but not the run.
	g.add(2, 2, 0);
	g.finish();
	CHECK(runs == std::vector<mapping_run>{{0, 0, 2, 0}, {2, 2, 1, 0}});
}

TEST_CASE("runs reach the largest block numbers and times", "[dump][runs]")
{
	const uint64_t max_data = (uint64_t(1) << 40) - 1;
	auto runs = group({one(UINT64_MAX - 1, max_data - 1, 0xFFFFFF), one(UINT64_MAX, max_data, 0xFFFFFF)});
	CHECK(runs == std::vector<mapping_run>{{UINT64_MAX - 1, max_data - 1, 2, 0xFFFFFF}});
}
