#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "pdata/ref_count_batch.h"
#include "pdata/ref_count_lookup.h"
#include "pdata/use_tally.h"

using thinmeta::pdata::increment_batch;
using thinmeta::pdata::ref_count_lookup;
using thinmeta::pdata::use_tally;

TEST_CASE("use_tally counts 0, 1, then stops at more_than_once", "[use_tally]")
{
	use_tally t(2 * use_tally::chunk_size + 7);
	CHECK(t.get(3) == 0);
	CHECK(t.memory_used() == 0);
	t.inc(3);
	CHECK(t.get(3) == 1);
	t.inc(3);
	CHECK(t.get(3) == use_tally::more_than_once);
	for (int i = 0; i < 10; ++i)
		t.inc(3);
	CHECK(t.get(3) == use_tally::more_than_once);
	// Its neighbours in the same byte are untouched.
	CHECK(t.get(0) == 0);
	CHECK(t.get(1) == 0);
	CHECK(t.get(2) == 0);
	CHECK(t.get(4) == 0);
	// Only the chunk touched is held; the last, partial chunk works.
	CHECK(t.memory_used() == use_tally::chunk_size / 4);
	t.inc(2 * use_tally::chunk_size + 6);
	CHECK(t.get(2 * use_tally::chunk_size + 6) == 1);
	CHECK(t.get(use_tally::chunk_size + 6) == 0);
	CHECK(t.memory_used() == 2 * use_tally::chunk_size / 4);
}

TEST_CASE("use_tally batched and looked up per chunk agrees with a direct count", "[use_tally]")
{
	const uint64_t nr_blocks = 3 * use_tally::chunk_size + 1000;
	std::vector<uint32_t> direct(nr_blocks, 0);
	use_tally t(nr_blocks);
	{
		increment_batch<use_tally, 256> batch(t);
		std::mt19937_64 rng(11);
		for (int i = 0; i < 300'000; ++i) {
			uint64_t b = rng() % nr_blocks;
			if (b / use_tally::chunk_size == 1)
				continue;  // a chunk never used
			++direct[b];
			batch.inc(b);
		}
		for (int i = 0; i < 1000; ++i) {  // one chunk's buffer fills several times
			++direct[nr_blocks - 1];
			batch.inc(nr_blocks - 1);
		}
		batch.apply_all();
	}
	uint64_t want[3] = {0, 0, 0}, got[3] = {0, 0, 0};
	for (uint64_t b = 0; b < nr_blocks; ++b) {
		uint32_t expected = std::min<uint32_t>(direct[b], use_tally::more_than_once);
		REQUIRE(t.get(b) == expected);
		++want[expected];
	}
	CHECK(want[0] > 0);
	CHECK(want[1] > 0);
	CHECK(want[2] > 0);
	CHECK(t.memory_used() == 3 * use_tally::chunk_size / 4);

	ref_count_lookup lookup(t, [&](uint32_t uses, uint64_t tag) {
		CHECK(uses == std::min<uint32_t>(direct[tag], use_tally::more_than_once));
		++got[uses];
	});
	for (uint64_t b = 0; b < nr_blocks; ++b)
		lookup.ask(b, b);
	lookup.answer_all();
	CHECK(got[0] == want[0]);
	CHECK(got[1] == want[1]);
	CHECK(got[2] == want[2]);
}
