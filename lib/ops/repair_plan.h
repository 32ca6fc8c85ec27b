// Deciding what a repair recovers from damaged metadata: the superblock's
// values (from the superblock, the command line, or what the trees show),
// and for every thin device its details and the mapping tree to read it
// from. The superblock's own trees are used when they read back whole; if
// not, the device is scanned for every tree root and the newest complete
// pair of device-details and mapping trees wins (never an empty pair left
// by an old transaction over a fuller, newer one); a device whose tree is
// lost falls back to the metadata snapshot's tree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/progress.h"
#include "io/block_device.h"
#include "ops/tree_salvage.h"
#include "thin/device_details.h"

namespace thinmeta::ops {

// Values from the command line, needed when the superblock is unreadable.
struct repair_overrides {
	std::optional<uint64_t> transaction_id;
	std::optional<uint32_t> data_block_size;
	std::optional<uint64_t> nr_data_blocks;
};

struct recovered_device {
	uint64_t id = 0;
	thin::device_details details;  // mapped_blocks is recounted when written
	std::optional<block_address> root;
	bool from_snapshot = false;
	uint64_t mappings = 0;
	std::vector<pdata::key_range> lost;
	bool details_lost = false;
};

struct repair_plan {
	uint32_t time = 0;
	uint64_t transaction_id = 0;
	uint32_t data_block_size = 0;
	uint64_t nr_data_blocks = 0;
	// One past the highest data block the recovered devices map.
	uint64_t data_end = 0;
	std::vector<recovered_device> devices;
	// What was found and decided, one line each, for the report.
	std::vector<std::string> notes;
};

repair_plan plan_repair(const io::block_device& dev, const repair_overrides& overrides, progress_sink& progress);

}
