#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/crc32c.h"

using namespace thinmeta;

TEST_CASE("crc32c matches the standard check value", "[crc32c]")
{
	const char* text = "123456789";
	REQUIRE(crc32c(text, 9) == 0xE3069283u);
}

TEST_CASE("crc32c matches the RFC 3720 test vectors", "[crc32c]")
{
	std::vector<uint8_t> buf(32);

	std::fill(buf.begin(), buf.end(), 0x00);
	CHECK(crc32c(buf.data(), buf.size()) == 0x8A9136AAu);

	std::fill(buf.begin(), buf.end(), 0xFF);
	CHECK(crc32c(buf.data(), buf.size()) == 0x62A8AB43u);

	for (size_t i = 0; i < 32; ++i)
		buf[i] = static_cast<uint8_t>(i);
	CHECK(crc32c(buf.data(), buf.size()) == 0x46DD794Eu);

	for (size_t i = 0; i < 32; ++i)
		buf[i] = static_cast<uint8_t>(31 - i);
	CHECK(crc32c(buf.data(), buf.size()) == 0x113FDB5Cu);
}

TEST_CASE("crc32c of nothing is zero", "[crc32c]")
{
	CHECK(crc32c(nullptr, 0) == 0u);
}

TEST_CASE("every implementation the CPU runs agrees with the portable one at every length and alignment",
          "[crc32c]")
{
	std::mt19937 rng(7);
	std::vector<uint8_t> buf(13000);
	for (auto& b : buf)
		b = static_cast<uint8_t>(rng());
	auto implementations = crc32c_implementations();
	REQUIRE(implementations.front().update != nullptr);
	CHECK(std::string(implementations.back().name) == "portable");
	for (auto& impl : implementations) {
		for (size_t offset : {0, 1, 3, 7}) {
			for (size_t len : {0, 1, 7, 8, 9, 63, 64, 100, 255, 256, 257, 319, 320, 511, 512, 575, 1000, 4079, 4080,
			                   4081, 4088, 4092, 8160, 8191, 12240, 12247}) {
				uint32_t seed = static_cast<uint32_t>(rng());
				INFO(impl.name << ", offset " << offset << " length " << len);
				CHECK(impl.update(seed, buf.data() + offset, len) ==
				      crc32c_update_portable(seed, buf.data() + offset, len));
			}
		}
	}
	// crc32c_update is the first.
	CHECK(crc32c_update(5, buf.data(), 4092) == implementations.front().update(5, buf.data(), 4092));
}

TEST_CASE("crc32c can be computed in pieces", "[crc32c]")
{
	std::string text = "The quick brown fox jumps over the lazy dog";
	uint32_t whole = crc32c_update(0xFFFFFFFFu, text.data(), text.size());
	uint32_t parts = crc32c_update(0xFFFFFFFFu, text.data(), 10);
	parts = crc32c_update(parts, text.data() + 10, text.size() - 10);
	CHECK(whole == parts);
	CHECK(~whole == 0x22620404u);
}
