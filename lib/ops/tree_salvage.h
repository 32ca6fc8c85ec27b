// Reads what can be read of a pool's trees from a pair of roots (device
// details and mapping tree), going on past damage: which devices there are,
// their details, each device's bottom-level root, how many mappings each
// tree still yields, the newest time they carry, and the virtual blocks
// lost. thin_repair scores candidate roots with it and recovers from the
// best.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/block_device.h"
#include "pdata/btree_walk.h"
#include "pdata/key_range.h"
#include "thin/device_details.h"

namespace thinmeta::ops {

// A single-level tree's entries as far as they could be read.
template <typename Value>
struct salvaged_entries {
	block_address root = 0;
	std::vector<std::pair<uint64_t, Value>> entries;  // ascending key
	bool complete = true;
	std::vector<std::string> damage;
};
using salvaged_details = salvaged_entries<thin::device_details>;
using salvaged_top_level = salvaged_entries<block_address>;

salvaged_details salvage_details_tree(const io::block_device& dev, block_address root);
salvaged_top_level salvage_top_level(const io::block_device& dev, block_address root);

struct salvaged_device {
	uint64_t id = 0;
	std::optional<thin::device_details> details;  // none when the details tree lost it
	std::optional<block_address> root;            // none when the mapping tree lost it
	// Filled by salvage_mappings():
	uint64_t mappings = 0;
	uint32_t newest_time = 0;
	uint64_t data_end = 0;  // one past the highest data block mapped
	bool root_readable = false;
	std::vector<pdata::key_range> lost;  // virtual blocks whose mappings are unreadable
};

struct salvaged_trees {
	block_address details_root = 0;
	block_address mapping_root = 0;
	std::vector<salvaged_device> devices;  // ascending id
	bool details_complete = true;
	bool mapping_complete = true;
	// What was wrong, one line each, for the repair report.
	std::vector<std::string> damage;

	uint64_t total_mappings() const;
	// The newest pool time the trees show (device times and mapping times).
	uint32_t newest_time() const;
	uint64_t newest_transaction() const;
	bool complete() const;
};

// Joins a details tree and a mapping tree's top level by device id.
salvaged_trees join_top_levels(const salvaged_details& details, const salvaged_top_level& top);
salvaged_trees salvage_top_levels(const io::block_device& dev, block_address details_root,
                                  block_address mapping_root);

// Reads every device's bottom-level tree, counting what it yields. Mappings
// to data blocks at or past nr_data_blocks count as lost.
void salvage_mappings(const io::block_device& dev, salvaged_trees& trees, uint64_t nr_data_blocks);
void salvage_device_mappings(pdata::btree_walker& walker, salvaged_device& d, uint64_t nr_data_blocks,
                             std::vector<std::string>& damage);

}
