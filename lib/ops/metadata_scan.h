// Reads every block of a metadata device once, in large sequential batches,
// and finds what a repair can start from when the superblock's roots cannot
// be trusted: superblocks (the live one and metadata-snapshot copies), and
// the roots of device details trees and of mapping trees (their top level)
// among the sound b-tree nodes, that is nodes no other sound node refers to.
// Old transactions leave such trees behind too; the planner chooses.
#pragma once

#include <cstdint>
#include <vector>

#include "base/progress.h"
#include "io/block_device.h"
#include "thin/superblock.h"

namespace thinmeta::ops {

struct scanned_superblock {
	block_address location = 0;
	thin::superblock sb;
};

struct metadata_scan_result {
	std::vector<scanned_superblock> superblocks;
	std::vector<block_address> details_roots;
	std::vector<block_address> mapping_roots;
	uint64_t nr_nodes = 0;
};

metadata_scan_result scan_metadata(const io::block_device& dev, progress_sink& progress);

}
