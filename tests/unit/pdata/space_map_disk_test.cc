#include <catch2/catch.hpp>

#include <random>

#include "base/multiset_fingerprint.h"
#include "io/aligned_buffer.h"
#include "pdata/block_checksum.h"
#include "pdata/space_map_disk.h"

using namespace thinmeta;
using namespace thinmeta::pdata;

TEST_CASE("a bitmap holds 16320 two-bit counts, the lower bit the 2's place", "[space_map_disk]")
{
	CHECK(entries_per_bitmap == 16320);
	io::aligned_buffer buf(1, true);
	uint8_t* b = buf.data();
	for (uint32_t e = 0; e < 4; ++e)
		set_bitmap_entry(b, e, 1);
	for (uint32_t e = 4; e < 8; ++e)
		set_bitmap_entry(b, e, 2);
	CHECK(b[16] == 0xAA);
	CHECK(b[17] == 0x55);
	set_bitmap_entry(b, 9, 3);
	CHECK(bitmap_entry(b, 9) == 3);
	CHECK(bitmap_entry(b, 8) == 0);
	CHECK(bitmap_entry(b, 10) == 0);
	set_bitmap_entry(b, 16319, 2);
	CHECK(bitmap_entry(b, 16319) == 2);
	CHECK(b[4095] == 0x40);
}

TEST_CASE("the spec's data bitmap example decodes", "[space_map_disk]")
{
	// Spec section 11: byte 0x12 = 0x90 -> entries 8..11 = 0, 0, 2, 1.
	io::aligned_buffer buf(1, true);
	buf.data()[16 + 2] = 0x90;
	CHECK(bitmap_entry(buf.data(), 8) == 0);
	CHECK(bitmap_entry(buf.data(), 9) == 0);
	CHECK(bitmap_entry(buf.data(), 10) == 2);
	CHECK(bitmap_entry(buf.data(), 11) == 1);
}

TEST_CASE("a bitmap's entries fingerprint as the counts they hold", "[space_map_disk]")
{
	// thin_check fingerprints bitmaps with multiset_fingerprint's packed
	// counts; they must read entries as bitmap_entry does.
	io::aligned_buffer buf(1, true);
	uint8_t* b = buf.data();
	std::mt19937 rng(3);
	for (uint32_t e = 0; e < entries_per_bitmap; ++e)
		set_bitmap_entry(b, e, rng() % 4);
	const uint64_t first = 7 * uint64_t(entries_per_bitmap);
	for (auto& impl : multiset_fingerprint_implementations()) {
		INFO(impl.name);
		multiset_fingerprint counted, threes, expected, expected_threes;
		uint32_t in_use = impl.add_2bit_counts(counted, b + bitmap_header_size, first, entries_per_bitmap, threes);
		uint32_t expected_in_use = 0;
		for (uint32_t e = 0; e < entries_per_bitmap; ++e) {
			unsigned count = bitmap_entry(b, e);
			if (count == overflow_marker) {
				expected_threes.add(first + e);
			} else if (count) {
				expected.add(first + e, count);
				++expected_in_use;
			}
		}
		CHECK(in_use == expected_in_use);
		CHECK(counted == expected);
		CHECK(threes == expected_threes);
	}
}

TEST_CASE("space map roots and index entries round-trip", "[space_map_disk]")
{
	uint8_t raw[32] = {};
	sm_root r{1000, 4, 4, 5};
	r.encode(raw);
	CHECK(sm_root::decode(raw) == r);
	CHECK(raw[0] == 0xe8);
	CHECK(raw[1] == 0x03);

	index_entry e{3, 1012, 12};
	e.encode(raw);
	CHECK(index_entry::decode(raw) == e);
	CHECK(nr_bitmaps_for(0) == 0);
	CHECK(nr_bitmaps_for(16320) == 1);
	CHECK(nr_bitmaps_for(16321) == 2);
	CHECK(max_metadata_blocks == 4161600);
}

TEST_CASE("bitmap and index blocks are validated by checksum and location", "[space_map_disk]")
{
	io::aligned_buffer buf(1, true);
	init_bitmap_block(buf.data(), 42);
	seal_bitmap_block(buf.data());
	CHECK(check_bitmap_block(buf.data(), 42).empty());
	CHECK(check_bitmap_block(buf.data(), 43) == "the block says it is block 42");
	CHECK(check_index_block(buf.data(), 42) == "expected a metadata space map index but found a space map bitmap");
	init_index_block(buf.data(), 1);
	seal_index_block(buf.data());
	CHECK(check_index_block(buf.data(), 1).empty());
	buf.data()[100] = 1;
	CHECK(check_index_block(buf.data(), 1) == "bad checksum");
}
