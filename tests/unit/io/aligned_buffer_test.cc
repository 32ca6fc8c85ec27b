#include <catch2/catch.hpp>

#include <cstdint>

#include "io/aligned_buffer.h"

using thinmeta::block_size;
using thinmeta::io::aligned_buffer;

namespace {
uintptr_t address_of(const aligned_buffer& b)
{
	return reinterpret_cast<uintptr_t>(b.data());
}
}

TEST_CASE("aligned_buffer: small buffers are block-aligned and exactly as large as asked", "[aligned_buffer]")
{
	aligned_buffer one(1);
	CHECK(one.nr_blocks() == 1);
	CHECK(address_of(one) % block_size == 0);

	aligned_buffer almost(511);
	CHECK(almost.nr_blocks() == 511);
	CHECK(address_of(almost) % block_size == 0);
}

TEST_CASE("aligned_buffer: buffers of 2 MiB or more are whole huge pages on a huge-page boundary", "[aligned_buffer]")
{
	constexpr size_t blocks_per_huge_page = aligned_buffer::huge_page_bytes / block_size;
	STATIC_REQUIRE(blocks_per_huge_page == 512);

	aligned_buffer exact(512);
	CHECK(exact.nr_blocks() == 512);
	CHECK(address_of(exact) % aligned_buffer::huge_page_bytes == 0);

	// The rest of the second huge page is the buffer's too.
	aligned_buffer over(513);
	CHECK(over.nr_blocks() == 1024);
	CHECK(address_of(over) % aligned_buffer::huge_page_bytes == 0);
	over.block(1023)[block_size - 1] = 0xAB;
	CHECK(over.block(1023)[block_size - 1] == 0xAB);
}

TEST_CASE("aligned_buffer: reserve grows to whole huge pages and never shrinks", "[aligned_buffer]")
{
	aligned_buffer b;
	CHECK(b.nr_blocks() == 0);
	b.reserve(16);
	CHECK(b.nr_blocks() == 16);
	b.reserve(8);
	CHECK(b.nr_blocks() == 16);
	b.reserve(600);
	CHECK(b.nr_blocks() == 1024);
	CHECK(address_of(b) % aligned_buffer::huge_page_bytes == 0);
	b.reserve(1000);
	CHECK(b.nr_blocks() == 1024);
}

TEST_CASE("aligned_buffer: zeroed buffers are zero throughout what was asked for", "[aligned_buffer]")
{
	aligned_buffer z(600, true);
	bool all_zero = true;
	for (size_t i = 0; i < 600 * block_size; ++i)
		all_zero &= z.data()[i] == 0;
	CHECK(all_zero);
}
