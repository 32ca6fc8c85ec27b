#include <catch2/catch.hpp>

#include "pdata/ref_counter.h"

using thinmeta::pdata::ref_counter;

TEST_CASE("ref_counter gives references back", "[ref_counter]")
{
	ref_counter c(1000);
	c.inc(3, 2);
	c.dec(3);
	CHECK(c.get(3) == 1);
	c.dec(3);
	CHECK(c.get(3) == 0);

	// Down through the byte's limit and back into the byte.
	c.inc(9, 256);
	c.dec(9);
	CHECK(c.get(9) == 255);
	c.dec(9);
	CHECK(c.get(9) == 254);
	c.inc(9);
	CHECK(c.get(9) == 255);
	c.dec(9);
	c.dec(9);
	CHECK(c.get(9) == 253);
}
