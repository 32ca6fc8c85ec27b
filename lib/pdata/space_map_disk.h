// On-disk structures shared by the data and metadata space maps: the 32-byte
// root kept in the superblock, 16-byte index entries, bitmap blocks of 2-bit
// reference counts, and the metadata space map's single index block.
#pragma once

#include <cstdint>
#include <string>

#include "base/endian.h"
#include "io/block.h"

namespace thinmeta::pdata {

inline constexpr uint32_t entries_per_bitmap = (block_size - 16) * 4;  // 16320
inline constexpr size_t bitmap_header_size = 16;
inline constexpr uint32_t max_metadata_bitmaps = 255;
inline constexpr uint64_t max_metadata_blocks = uint64_t(max_metadata_bitmaps) * entries_per_bitmap;
inline constexpr size_t sm_root_size = 128;      // the room each root has in the superblock
inline constexpr uint32_t index_entry_size = 16;  // also the data index b-tree's value size
inline constexpr uint32_t ref_count_value_size = 4;
// A bitmap entry of 3 means "count kept in the overflow ref-count tree".
inline constexpr unsigned overflow_marker = 3;

struct sm_root {
	uint64_t nr_blocks = 0;
	uint64_t nr_allocated = 0;
	uint64_t bitmap_root = 0;     // data: index b-tree root; metadata: index block
	uint64_t ref_count_root = 0;  // overflow tree of counts >= 3

	static sm_root decode(const uint8_t* p)
	{
		return {load_le64(p), load_le64(p + 8), load_le64(p + 16), load_le64(p + 24)};
	}
	void encode(uint8_t* p) const
	{
		store_le64(p, nr_blocks);
		store_le64(p + 8, nr_allocated);
		store_le64(p + 16, bitmap_root);
		store_le64(p + 24, ref_count_root);
	}
	bool operator==(const sm_root&) const = default;
};

struct index_entry {
	uint64_t blocknr = 0;
	uint32_t nr_free = 0;
	uint32_t none_free_before = 0;

	static index_entry decode(const uint8_t* p) { return {load_le64(p), load_le32(p + 8), load_le32(p + 12)}; }
	void encode(uint8_t* p) const
	{
		store_le64(p, blocknr);
		store_le32(p + 8, nr_free);
		store_le32(p + 12, none_free_before);
	}
	bool operator==(const index_entry&) const = default;
};

inline uint64_t nr_bitmaps_for(uint64_t nr_blocks)
{
	return (nr_blocks + entries_per_bitmap - 1) / entries_per_bitmap;
}

// Entry e of a bitmap block: bits 2*(e%4) and 2*(e%4)+1 of byte 16 + e/4, the
// lower-numbered bit being the 2's place.
inline unsigned bitmap_entry(const uint8_t* bitmap, uint32_t e)
{
	unsigned byte = bitmap[bitmap_header_size + e / 4];
	unsigned s = 2 * (e % 4);
	return (((byte >> s) & 1) << 1) | ((byte >> (s + 1)) & 1);
}

inline void set_bitmap_entry(uint8_t* bitmap, uint32_t e, unsigned value)
{
	uint8_t& byte = bitmap[bitmap_header_size + e / 4];
	unsigned s = 2 * (e % 4);
	byte = static_cast<uint8_t>((byte & ~(3u << s)) | ((value >> 1) & 1) << s | (value & 1) << (s + 1));
}

// Offset of entry i in the metadata index block.
inline constexpr size_t metadata_index_entry_offset(uint32_t i)
{
	return 16 + size_t(i) * index_entry_size;
}

// What is wrong with a bitmap or index block read from `where`; empty if sound.
std::string check_bitmap_block(const uint8_t* block, block_address where);
std::string check_index_block(const uint8_t* block, block_address where);

// Formats an empty bitmap or index block at `where` and seals them.
void init_bitmap_block(uint8_t* block, block_address where);
void seal_bitmap_block(uint8_t* block);
void init_index_block(uint8_t* block, block_address where);
void seal_index_block(uint8_t* block);

}
