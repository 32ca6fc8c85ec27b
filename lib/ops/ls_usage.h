// How much of each device's data no other device maps (thin_ls's exclusive
// and shared columns) and its highest mapped block. Each distinct mapping
// leaf is read once however many snapshots share it, twice if unshared:
// once to tally each data block's uses (never, once, more: two bits a
// block, in batches per chunk), once to ask which of its blocks are used
// once. Each device's last leaf holding mappings is read a third time for
// its highest key. Nothing is kept per leaf but its number of entries (a
// byte a metadata block). From the page cache the leaves are read in the
// order of their parents; where reads wait for the disk, in block order, a
// window of blocks at a time (see count_device_usage).
// A block is exclusive to a device when it is mapped exactly once in the
// whole pool, as 0.9.0 counts it (a block a device maps twice is shared).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "io/block_device.h"
#include "thin/metadata_reader.h"

namespace thinmeta::ops {

struct device_usage {
	uint64_t exclusive = 0;  // mappings whose data block nothing else maps
	uint64_t mapped = 0;     // mappings counted in the tree
	uint64_t highest = 0;    // highest mapped virtual block; 0 when none
};

// nr_data_blocks bounds the data block numbers the mappings may use.
std::vector<device_usage> count_device_usage(const io::block_device& dev, std::span<const thin::thin_device> devices,
                                             uint64_t nr_data_blocks);

}
