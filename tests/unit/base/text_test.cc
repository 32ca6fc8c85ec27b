#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "base/endian.h"
#include "base/text.h"

using namespace thinmeta;

TEST_CASE("cat joins strings and numbers", "[text]")
{
	CHECK(cat("block ", 12, ": ", std::string("bad"), ' ', uint64_t(18446744073709551615u)) ==
	      "block 12: bad 18446744073709551615");
	CHECK(cat(-5, " ", true) == "-5 true");
}

TEST_CASE("little-endian loads and stores", "[endian]")
{
	uint8_t buf[8] = {0x4c, 0xe7, 0xd9, 0xce, 1, 0, 0, 0};
	CHECK(load_le32(buf) == 0xced9e74cu);
	CHECK(load_le64(buf) == 0x1ced9e74cull);
	store_le64(buf, 0x0102030405060708ull);
	CHECK(buf[0] == 0x08);
	CHECK(buf[7] == 0x01);
	store_le32(buf + 4, 27022010);
	CHECK(load_le32(buf + 4) == 27022010u);
}
