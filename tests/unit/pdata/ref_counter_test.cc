#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "pdata/ref_counter.h"
#include "pdata/space_map_disk.h"

using thinmeta::pdata::ref_counter;

TEST_CASE("ref_counter counts each block on its own", "[ref_counter]")
{
	ref_counter c(1'000'000);
	CHECK(c.get(0) == 0);
	CHECK(c.get(999'999) == 0);
	c.inc(5);
	c.inc(5);
	c.inc(999'999, 3);
	CHECK(c.get(4) == 0);
	CHECK(c.get(5) == 2);
	CHECK(c.get(6) == 0);
	CHECK(c.get(999'999) == 3);
	c.dec(5);
	CHECK(c.get(5) == 1);
	c.dec(5);
	c.dec(5);  // nothing to give back
	CHECK(c.get(5) == 0);
	c.dec(123'456);  // an untouched chunk
	CHECK(c.get(123'456) == 0);
}

TEST_CASE("ref_counter widens a chunk at 15 and spills at 255", "[ref_counter]")
{
	ref_counter c(3 * ref_counter::chunk_size);
	uint64_t empty = c.memory_used();
	c.inc(4);
	c.inc(5, 14);
	CHECK(c.memory_used() == empty + ref_counter::chunk_size / 2);
	c.inc(5);
	CHECK(c.get(5) == 15);
	CHECK(c.get(4) == 1);
	CHECK(c.get(6) == 0);
	CHECK(c.memory_used() == empty + ref_counter::chunk_size);
	for (int i = 0; i < 1000; ++i)
		c.inc(5);
	CHECK(c.get(5) == 1015);
	for (int i = 0; i < 1001; ++i)
		c.dec(5);
	CHECK(c.get(5) == 14);
	c.inc(7, 300);
	CHECK(c.get(7) == 300);
	CHECK(c.get(8) == 0);
	// Other chunks stay narrow.
	c.inc(ref_counter::chunk_size + 1);
	CHECK(c.get(ref_counter::chunk_size + 1) == 1);
	CHECK(c.memory_used() == empty + ref_counter::chunk_size + ref_counter::chunk_size / 2 + 32);
}

TEST_CASE("ref_counter counts a run as one increment per block", "[ref_counter]")
{
	// Runs over untouched, narrow and wide chunks, across chunk borders,
	// through counts that widen a chunk (15) and spill into the map (255):
	// the same counts as one inc() per block.
	const uint64_t size = 4 * ref_counter::chunk_size;
	ref_counter runs(size), singles(size);
	auto both = [&](uint64_t first, uint64_t n) {
		runs.inc_run(first, n);
		for (uint64_t b = first; b < first + n; ++b)
			singles.inc(b);
	};
	const uint64_t border = ref_counter::chunk_size;
	both(border - 100, 200);  // two untouched chunks
	for (int i = 0; i < 20; ++i)
		both(border - 10 + i, 7);  // up to 7 more around the border
	both(2 * border + 3, 1);
	for (int i = 0; i < 14; ++i)
		both(2 * border, 10);  // 15 at 2 * border + 3: the chunk widens mid-run
	for (int i = 0; i < 250; ++i)
		both(2 * border + 1, 4);  // past 254 in the wide chunk
	both(size - 5, 5);  // the last blocks
	// Sixteen counts at a time from a 16-block boundary, until a word holds
	// a count of 14 (block 3 * border + 40 first), then one at a time.
	both(3 * border + 40, 1);
	for (int i = 0; i < 16; ++i)
		both(3 * border + 32, 64);
	std::vector<uint32_t> got(size), want(size);
	runs.get_range(0, static_cast<uint32_t>(size), got.data());
	singles.get_range(0, static_cast<uint32_t>(size), want.data());
	CHECK(got == want);
	CHECK(runs.get(border - 1) == 8);
	CHECK(runs.get(2 * border + 3) == 1 + 14 + 250);
	CHECK(runs.get(2 * border + 9) == 14);
	CHECK(runs.get(3 * border + 40) == 17);
	CHECK(runs.get(3 * border + 95) == 16);
	CHECK(runs.get(3 * border + 96) == 0);
	CHECK(runs.memory_used() == singles.memory_used());
}

TEST_CASE("ref_counter allocates only the chunks it touches", "[ref_counter]")
{
	uint64_t huge = uint64_t(1) << 34;
	ref_counter c(huge);
	uint64_t empty = c.memory_used();
	c.inc(huge - 1);
	c.inc(huge / 2);
	CHECK(c.get(huge - 1) == 1);
	CHECK(c.get(huge / 2) == 1);
	CHECK(c.memory_used() == empty + ref_counter::chunk_size);
}

TEST_CASE("ref_counter reads ranges across chunks of both widths", "[ref_counter]")
{
	ref_counter c(3 * ref_counter::chunk_size);
	uint64_t edge = ref_counter::chunk_size - 2;
	c.inc(edge);
	c.inc(edge + 3, 300);
	c.inc(edge + 1, 20);
	std::vector<uint32_t> out(6, 99);
	c.get_range(edge - 1, 6, out.data());
	CHECK(out == std::vector<uint32_t>{0, 1, 20, 0, 300, 0});
	c.get_range(2 * ref_counter::chunk_size, 3, out.data());
	CHECK(out[0] == 0);
	CHECK(out[2] == 0);
}

TEST_CASE("ref_counter gives the space map bitmap bytes its counts make", "[ref_counter]")
{
	// Chunk 0 stays narrow, chunk 1 widens (a count of 20), chunk 2 holds a
	// count past 255, chunk 3 is never touched.
	const uint64_t chunk = ref_counter::chunk_size;
	ref_counter c(4 * chunk);
	std::mt19937 rng(5);
	for (uint64_t b = 0; b < 3 * chunk; ++b)
		if (uint32_t n = rng() % 5)
			c.inc(b, n);
	c.inc(chunk + 7, 20);
	c.inc(2 * chunk + 9, 300);
	// Whole chunks and a range across all four, from a multiple of 4.
	for (auto [first, n] : {std::pair(uint64_t(0), uint32_t(4 * chunk)), std::pair(chunk - 8, uint32_t(2 * chunk + 16))}) {
		std::vector<uint32_t> counts(n);
		c.get_range(first, n, counts.data());
		std::vector<uint8_t> want(thinmeta::pdata::bitmap_header_size + n / 4, 0);
		for (uint32_t i = 0; i < n; ++i)
			thinmeta::pdata::set_bitmap_entry(want.data(), i, std::min(counts[i], 3u));
		want.erase(want.begin(), want.begin() + thinmeta::pdata::bitmap_header_size);
		std::vector<uint8_t> got(n / 4, 0xAA);
		c.get_bitmap_bytes(first, n, got.data());
		INFO("blocks from " << first);
		CHECK(got == want);
	}
}
