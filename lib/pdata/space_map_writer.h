// Writes the two space maps of metadata built from nothing (restore,
// repair) from reference counts already known: bitmaps with exact free
// counts and first-free hints, the overflow tree of counts of 3 or more, and
// the index (a b-tree for data, one block for metadata). Counts are exact:
// nr_allocated is the number of blocks with a non-zero count.
#pragma once

#include <cstdint>

#include "io/block.h"
#include "pdata/bulk_block_writer.h"
#include "pdata/ref_counter.h"
#include "pdata/space_map_disk.h"

namespace thinmeta::pdata {

// Writes the data space map over counts.size() data blocks; its blocks are
// appended to `out` and counted there. Returns the root for the superblock.
sm_root write_data_space_map(bulk_block_writer& out, const ref_counter& counts);

// Where the metadata space map lives: its index block and bitmaps are
// reserved at fixed places before anything else is written.
struct metadata_sm_layout {
	uint64_t nr_blocks = 0;  // blocks the space map covers
	block_address index_block = 1;
	block_address first_bitmap = 2;

	uint64_t nr_bitmaps() const { return nr_bitmaps_for(nr_blocks); }
	// The first block after the reserved ones.
	block_address first_free() const { return first_bitmap + nr_bitmaps(); }
};

// Laid out after the superblock (block 0): index at 1, bitmaps from 2.
metadata_sm_layout plan_metadata_space_map(uint64_t nr_blocks);

// Writes the metadata space map from the counts `out` holds. It must come
// last: the superblock, the index block and the bitmaps are given their
// reference here, and the overflow tree's own blocks are counted. Nothing may
// be appended afterwards. Returns the root for the superblock.
sm_root write_metadata_space_map(bulk_block_writer& out, const metadata_sm_layout& layout);

// The bitmap entries of `count` (0 free; 1 and 2 themselves; 3 or more: see
// the overflow tree).
inline unsigned bitmap_value_for(uint32_t count)
{
	return count < overflow_marker ? count : overflow_marker;
}

}
