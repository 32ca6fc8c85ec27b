// thin_rmap: which thin devices and virtual blocks map the data blocks of
// some regions, one line per run ("data 5..8 -> thin(1) 100..103"), sorted
// by data block. Unlike 0.9.0, which walks a shared subtree for the first
// device that reaches it only, every device mapping a block is listed.
#pragma once

#include <ostream>
#include <vector>

#include "ops/rmap_regions.h"
#include "thin/metadata_reader.h"

namespace thinmeta::ops {

struct rmap_options {
	thin::read_request source;
	std::vector<data_region> regions;
};

void write_rmap(const rmap_options& options, std::ostream& out);

}
