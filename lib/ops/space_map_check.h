// Compares a space map as stored (its bitmaps and overflow ref-count tree)
// with the reference counts the walk recomputed, block by block, streaming
// the bitmaps in block order; the ref-count tree is compared through its
// fingerprint, and read again in key order only when that differs. Or, where
// the walk kept only a fingerprint of the references it found (the data
// blocks the mappings refer to), compares that with the fingerprint of what
// the space map stores.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/multiset_fingerprint.h"
#include "base/progress.h"
#include "io/block_device.h"
#include "ops/check_findings.h"
#include "ops/overflow_references.h"
#include "ops/ref_count_summary.h"
#include "pdata/space_map_disk.h"

namespace thinmeta::ops {

// The recomputed counts of a range of blocks.
class expected_counts {
public:
	virtual ~expected_counts() = default;
	virtual void get(uint64_t first, uint32_t n, uint32_t* out) const = 0;
	// The bitmap bytes the counts make (each capped at 3, four a byte as on
	// disk), n / 4 of them; first and n are multiples of 4. Compared with
	// the stored bitmap eight bytes at a time.
	virtual void get_bitmap_bytes(uint64_t first, uint32_t n, uint8_t* out) const = 0;
};

struct stored_space_map {
	std::string name;  // "metadata" or "data": used in messages
	uint64_t nr_blocks = 0;
	uint64_t nr_allocated = 0;
	// Index entries by bitmap number; blocknr 0 where none is recorded.
	std::vector<pdata::index_entry> bitmaps;
	// The ref-count tree, sound (the walk found no damage), and the
	// fingerprint of all its entries.
	block_address ref_count_root = 0;
	ref_count_summary ref_counts;
	// The same tree as references, for check_space_map_references.
	overflow_references overflow;
};

// Blocks found leaked are added to `leaked` (when given), for --auto-repair.
void check_space_map(const io::block_device& dev, const stored_space_map& sm, const expected_counts& expected,
                     check_findings& findings, progress_sink& progress, std::vector<uint64_t>* leaked = nullptr);

// The check against `expected`, the fingerprint of every reference found:
// when the bitmaps and the ref-count tree store exactly those references,
// checks what is left (the space map's count of blocks in use) and returns
// true; else returns false having reported nothing, and check_space_map
// on an exact recount names each block that differs. A bitmap that cannot
// be used also returns false, for check_space_map to report.
bool check_space_map_references(const io::block_device& dev, const stored_space_map& sm,
                                const multiset_fingerprint& expected, check_findings& findings,
                                progress_sink& progress);

}
