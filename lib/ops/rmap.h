// thin_rmap: which thin devices and virtual blocks map the data blocks of
// some regions, one line per run ("data 5..8 -> thin(1) 100..103"), sorted
// by data block. Unlike 0.9.0, which walks a shared subtree for the first
// device that reaches it only, every device mapping a block is listed.
// Memory is bounded: past rmap_options::runs_per_window runs in the
// regions, the data blocks are listed a window at a time.
#pragma once

#include <ostream>
#include <vector>

#include "ops/rmap_regions.h"
#include "thin/metadata_reader.h"

namespace thinmeta::ops {

struct rmap_options {
	thin::read_request source;
	std::vector<data_region> regions;
	// The most runs held at once (a run per mapping in the regions at
	// worst, about 80 bytes each); 0 chooses by the size of the metadata
	// (24 per metadata block, from 1 Mi to 16 Mi). Past it the data blocks
	// are listed in windows, each found by one more read of the leaves, so
	// memory stays bounded however much the regions cover.
	uint64_t runs_per_window = 0;
};

void write_rmap(const rmap_options& options, std::ostream& out);

}
