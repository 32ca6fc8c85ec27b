// Reads mapping leaves a slice at a time, in block order with batched reads,
// on a reading thread that checks each leaf where it stands (sound, a leaf,
// its keys within the bounds its parent gives it) while the calling thread
// visits the batch before. Shared by the forests of mapping trees
// (mapping_forest, internal_forest), which differ in how they choose and
// order their leaves. Also the one wording of damage found in such trees.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "base/error.h"
#include "io/block_device.h"
#include "io/read_ahead.h"
#include "pdata/btree_node.h"
#include "pdata/key_range.h"
#include "thin/metadata_reader.h"

namespace thinmeta::thin {

// Blocks read by one batched request.
constexpr size_t forest_batch_blocks = 256;
// Leaves read per slice: a list of the slice's leaves is kept meanwhile.
constexpr size_t forest_slice_blocks = 128 * forest_batch_blocks;

// A leaf to read and what it is checked against.
struct leaf_to_read {
	leaf_to_read(uint32_t block, const pdata::key_range& keys, uint32_t device, bool shared, uint32_t tag = 0)
	    : keys_begin(keys.begin), keys_end(keys.end.value_or(0)), block(block), device(device), tag(tag),
	      has_end(keys.end.has_value()), shared(shared)
	{
	}

	uint64_t keys_begin = 0;
	uint64_t keys_end = 0;  // meaningful when has_end
	uint32_t block = 0;
	uint32_t device = 0;  // index into the devices, for reports and the caller
	uint32_t tag = 0;     // the caller's
	bool has_end = false;
	bool shared = false;  // the caller's

	pdata::key_range keys() const
	{
		return {keys_begin, has_end ? std::optional<uint64_t>(keys_end) : std::nullopt};
	}
};

// Damage in device `device`'s mapping tree at block b, whose parent gives it `keys`.
error mapping_tree_damage(const io::block_device& dev, const thin_device& device, block_address b,
                          const pdata::key_range& keys, const std::string& what);

// Reads the slice's leaves (ascending blocks) and calls visit(leaf, node) for
// each in turn; `buffers` are kept from slice to slice. Throws the damage of
// the first unsound leaf once the leaves before it are visited.
void read_mapping_leaves(const io::block_device& dev, std::span<const thin_device> devices,
                         std::span<const leaf_to_read> slice, io::read_ahead_buffers& buffers,
                         const std::function<void(const leaf_to_read&, const pdata::node_view&)>& visit);

}
