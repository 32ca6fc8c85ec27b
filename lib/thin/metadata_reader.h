// Opening a pool's metadata for reading: the device, the superblock a tool
// works from (the live one, or a metadata snapshot's copy) and the list of
// thin devices with their details and mapping-tree roots.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/block_device.h"
#include "thin/device_details.h"
#include "thin/superblock.h"

namespace thinmeta::thin {

struct read_request {
	std::string path;
	// Read the metadata snapshot instead of the live metadata: at the given
	// block, or (nullopt) at the live superblock's held root.
	bool metadata_snap = false;
	std::optional<block_address> snap_location;
};

struct thin_device {
	uint64_t id = 0;
	device_details details;
	block_address mapping_root = 0;
};

// Reads and validates the superblock at `where`; the error says what is wrong.
superblock read_superblock(const io::block_device& dev, block_address where);

class metadata_reader {
public:
	explicit metadata_reader(const read_request& request);

	const io::block_device& device() const { return dev_; }
	// The superblock the request selected (a snapshot copy has zeroed
	// space-map roots).
	const superblock& sb() const { return sb_; }
	block_address sb_location() const { return sb_location_; }
	bool reading_snapshot() const { return sb_location_ != superblock_location; }

	// Every device of the details tree, in id order, joined with its root in
	// the mapping tree's top level. Throws if the two trees disagree.
	std::vector<thin_device> devices() const;
	// The mapping tree's top level alone: each device's id and mapping-tree
	// root, in id order, details left zero. For tools that read mappings
	// only (thin_delta, thin_rmap), as 0.9.0 does.
	std::vector<thin_device> mapping_roots() const;
	// The device details tree alone, in id order, roots left zero.
	std::vector<thin_device> device_details() const;

private:
	io::block_device dev_;
	superblock sb_;
	block_address sb_location_ = superblock_location;
};

}
