#include <catch2/catch.hpp>

#include <vector>

#include "pdata/ref_counter.h"

using thinmeta::pdata::ref_counter;

TEST_CASE("ref_counter counts each block independently", "[ref_counter]")
{
	ref_counter c(1'000'000);
	CHECK(c.get(0) == 0);
	CHECK(c.get(999'999) == 0);
	c.inc(5);
	c.inc(5);
	c.inc(999'999, 3);
	CHECK(c.get(5) == 2);
	CHECK(c.get(4) == 0);
	CHECK(c.get(6) == 0);
	CHECK(c.get(999'999) == 3);
}

TEST_CASE("ref_counter keeps counts past one byte", "[ref_counter]")
{
	ref_counter c(100);
	for (int i = 0; i < 300; ++i)
		c.inc(7);
	CHECK(c.get(7) == 300);
	c.inc(8, 254);
	CHECK(c.get(8) == 254);
	c.inc(8);
	CHECK(c.get(8) == 255);
	c.inc(8, 1'000'000);
	CHECK(c.get(8) == 1'000'255);
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

TEST_CASE("ref_counter reads ranges across chunks and spilled counts", "[ref_counter]")
{
	ref_counter c(3 * ref_counter::chunk_size);
	uint64_t edge = ref_counter::chunk_size - 2;
	c.inc(edge);
	c.inc(edge + 3, 300);
	std::vector<uint32_t> out(6, 99);
	c.get_range(edge - 1, 6, out.data());
	CHECK(out == std::vector<uint32_t>{0, 1, 0, 0, 300, 0});
	c.get_range(2 * ref_counter::chunk_size, 3, out.data());
	CHECK(out[0] == 0);
	CHECK(out[2] == 0);
}

TEST_CASE("ref_counter spills at 15 and takes references back", "[ref_counter]")
{
	ref_counter c(100);
	for (int i = 0; i < 14; ++i)
		c.inc(3);
	CHECK(c.get(3) == 14);
	c.inc(4);
	CHECK(c.get(4) == 1);
	c.inc(3);
	CHECK(c.get(3) == 15);
	c.inc(3);
	CHECK(c.get(3) == 16);
	CHECK(c.get(2) == 0);
	CHECK(c.get(4) == 1);
	c.dec(3);
	c.dec(3);
	CHECK(c.get(3) == 14);
	c.dec(4);
	CHECK(c.get(4) == 0);
	c.dec(4);
	CHECK(c.get(4) == 0);
}
