#include <catch2/catch.hpp>

#include "pdata/byte_ref_counter.h"

using thinmeta::pdata::byte_ref_counter;

TEST_CASE("byte_ref_counter counts each block on its own", "[byte_ref_counter]")
{
	byte_ref_counter c(1'000'000);
	CHECK(c.get(0) == 0);
	CHECK(c.get(999'999) == 0);
	c.inc(5);
	c.inc(5);
	c.inc(999'999);
	CHECK(c.get(4) == 0);
	CHECK(c.get(5) == 2);
	CHECK(c.get(6) == 0);
	CHECK(c.get(999'999) == 1);
	c.dec(5);
	CHECK(c.get(5) == 1);
	c.dec(5);
	c.dec(5);  // nothing to give back
	CHECK(c.get(5) == 0);
	c.dec(123'456);  // an untouched chunk
	CHECK(c.get(123'456) == 0);
}

TEST_CASE("byte_ref_counter keeps counts past a byte, and comes back", "[byte_ref_counter]")
{
	byte_ref_counter c(100);
	for (int i = 0; i < 254; ++i)
		c.inc(7);
	CHECK(c.get(7) == 254);
	c.inc(7);
	CHECK(c.get(7) == 255);
	for (int i = 0; i < 1000; ++i)
		c.inc(7);
	CHECK(c.get(7) == 1255);
	for (int i = 0; i < 1001; ++i)
		c.dec(7);
	CHECK(c.get(7) == 254);
	c.inc(7);
	c.inc(7);
	CHECK(c.get(7) == 256);
	CHECK(c.get(8) == 0);
}

TEST_CASE("byte_ref_counter allocates only the chunks it touches", "[byte_ref_counter]")
{
	uint64_t huge = uint64_t(1) << 34;
	byte_ref_counter c(huge);
	uint64_t empty = c.memory_used();
	c.inc(huge - 1);
	c.inc(huge / 2);
	c.inc(huge / 2 + 1);
	CHECK(c.get(huge - 1) == 1);
	CHECK(c.get(huge / 2 + 1) == 1);
	CHECK(c.memory_used() == empty + 2 * (uint64_t(1) << byte_ref_counter::chunk_bits));
}
