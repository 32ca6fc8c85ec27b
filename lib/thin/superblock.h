// The thin-pool superblock (block 0, or a metadata snapshot's copy): its
// fields, how they are laid out, and what makes one valid.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "io/block.h"
#include "pdata/space_map_disk.h"

namespace thinmeta::thin {

inline constexpr uint64_t superblock_magic = 27022010;
inline constexpr uint32_t superblock_version = 2;
inline constexpr uint32_t needs_check_flag = 1;
inline constexpr block_address superblock_location = 0;

// Byte offsets of the superblock's fields, for code that rewrites some of
// them in place, as the kernel's commit does.
namespace superblock_offset {
inline constexpr size_t csum = 0, flags = 4, blocknr = 8, uuid = 16, magic = 32, version = 40, time = 44,
                        trans_id = 48, metadata_snap = 56, data_sm = 64, metadata_sm = 192, data_mapping_root = 320,
                        device_details_root = 328, data_block_size = 336, metadata_block_size = 340,
                        metadata_nr_blocks = 344, compat_flags = 352, compat_ro_flags = 356, incompat_flags = 360;
}

struct superblock {
	uint32_t flags = 0;
	uint64_t blocknr = 0;
	std::array<uint8_t, 16> uuid{};
	uint64_t magic = superblock_magic;
	uint32_t version = superblock_version;
	uint32_t time = 0;
	uint64_t trans_id = 0;
	uint64_t metadata_snap = 0;  // held root: location of the snapshot copy, 0 = none
	pdata::sm_root data_sm;
	pdata::sm_root metadata_sm;
	uint64_t data_mapping_root = 0;
	uint64_t device_details_root = 0;
	uint32_t data_block_size = 0;  // sectors
	uint32_t metadata_block_size = sectors_per_block;
	uint64_t metadata_nr_blocks = 0;
	uint32_t compat_flags = 0;
	uint32_t compat_ro_flags = 0;
	uint32_t incompat_flags = 0;

	bool needs_check() const { return flags & needs_check_flag; }

	static superblock decode(const uint8_t* block);
	// Writes the fields into a zeroed block and seals its checksum.
	void encode(uint8_t* block) const;
};

// Rewrites the flags of an encoded superblock in place and reseals it,
// leaving every other byte as it was.
void set_superblock_flags(uint8_t* block, uint32_t flags);

// What is wrong with the superblock stored at `where`: checksum, magic,
// self-location, block size, feature flags. Empty when it is sound.
std::string check_superblock(const uint8_t* block, block_address where);

// True when the block looks like text (XML) rather than metadata: used to
// tell users they passed a dump where a metadata image was expected.
bool looks_like_xml(const uint8_t* block);

// For a block at `where` that failed as a superblock: a parenthesised hint at
// what the user gave us instead (an XML dump, an all-zero device), or "".
std::string superblock_fault_hint(const uint8_t* block, block_address where);

}
