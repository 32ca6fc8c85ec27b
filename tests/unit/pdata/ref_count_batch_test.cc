#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "pdata/ref_count_batch.h"

using thinmeta::pdata::ref_count_batch;
using thinmeta::pdata::ref_counter;

TEST_CASE("ref_count_batch leaves the counts a direct count gives", "[ref_counter]")
{
	// Three chunks and a partial fourth; one block gets enough increments to
	// widen its chunk and spill past a byte, and a whole chunk is never
	// touched.
	const uint64_t nr_blocks = 3 * ref_counter::chunk_size + 1000;
	ref_counter direct(nr_blocks), batched(nr_blocks);
	ref_count_batch batch(batched);
	std::mt19937_64 rng(7);
	auto touch = [&](uint64_t b) {
		direct.inc(b);
		batch.inc(b);
	};
	for (int i = 0; i < 200'000; ++i) {
		uint64_t b = rng() % nr_blocks;
		if (b / ref_counter::chunk_size != 1)
			touch(b);
	}
	for (int i = 0; i < 300; ++i)
		touch(5);
	for (uint32_t i = 0; i < 3 * ref_count_batch::chunk_capacity; ++i)
		touch(nr_blocks - 1);

	// Nothing pending is lost when a chunk's buffer has just been applied.
	CHECK(batched.get(5) <= direct.get(5));
	batch.apply_all();
	std::vector<uint32_t> want(nr_blocks), got(nr_blocks);
	direct.get_range(0, static_cast<uint32_t>(nr_blocks), want.data());
	batched.get_range(0, static_cast<uint32_t>(nr_blocks), got.data());
	CHECK(got == want);
	CHECK(batched.get(5) == direct.get(5));
	CHECK(batched.get(5) >= 300);
	CHECK(batched.get(nr_blocks - 1) >= 3 * ref_count_batch::chunk_capacity);
	CHECK(batched.get(ref_counter::chunk_size + 17) == 0);
	CHECK(batched.memory_used() == direct.memory_used());

	// A second apply_all has nothing left to add.
	batch.apply_all();
	batched.get_range(0, static_cast<uint32_t>(nr_blocks), got.data());
	CHECK(got == want);
}

TEST_CASE("ref_counter::inc_chunk widens a chunk part way through", "[ref_counter]")
{
	ref_counter c(2 * ref_counter::chunk_size);
	std::vector<uint16_t> offsets;
	for (int i = 0; i < 20; ++i) {
		offsets.push_back(3);
		offsets.push_back(4);
	}
	offsets.push_back(0xFFFF);
	c.inc_chunk(1, offsets);
	CHECK(c.get(ref_counter::chunk_size + 3) == 20);
	CHECK(c.get(ref_counter::chunk_size + 4) == 20);
	CHECK(c.get(ref_counter::chunk_size + 0xFFFF) == 1);
	CHECK(c.get(3) == 0);
	CHECK(c.get(ref_counter::chunk_size + 5) == 0);
}

TEST_CASE("ref_counter::inc_chunk counts past 254 part way through a wide chunk, and on after it", "[ref_counter]")
{
	ref_counter direct(ref_counter::chunk_size), batched(ref_counter::chunk_size);
	std::vector<uint16_t> offsets;
	// Block 9 reaches 15 (the chunk widens) and then 300 (past a byte),
	// while blocks around it keep counting on either side of both steps.
	for (uint16_t i = 0; i < 300; ++i) {
		offsets.push_back(9);
		offsets.push_back(static_cast<uint16_t>(100 + i));
		offsets.push_back(static_cast<uint16_t>(100 + i));
	}
	offsets.push_back(0xFFFF);
	for (uint16_t o : offsets)
		direct.inc(o);
	batched.inc_chunk(0, offsets);
	std::vector<uint32_t> want(ref_counter::chunk_size), got(ref_counter::chunk_size);
	direct.get_range(0, ref_counter::chunk_size, want.data());
	batched.get_range(0, ref_counter::chunk_size, got.data());
	CHECK(got == want);
	CHECK(got[9] == 300);
	CHECK(got[399] == 2);
	CHECK(got[0xFFFF] == 1);

	// A second batch on the wide chunk, with a count held in the map.
	batched.inc_chunk(0, offsets);
	CHECK(batched.get(9) == 600);
	CHECK(batched.get(100) == 4);
}
