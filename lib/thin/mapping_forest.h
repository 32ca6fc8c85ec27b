// The bottom-level mapping trees of many devices read as one forest, each
// distinct node once. Snapshots share subtrees; tools that need every
// device's view (thin_ls, thin_rmap) read a shared subtree once instead of
// once per device. Internal nodes are read first, one height at a time with
// sorted batched reads; leaves are then handed out in block order. The
// forest knows how many device paths reach each leaf (one, or more: shared),
// which device an unshared leaf belongs to, and each device's leaves in key
// order.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "base/pod_vector.h"
#include "io/block_device.h"
#include "pdata/btree_node.h"
#include "pdata/key_range.h"
#include "thin/metadata_reader.h"

namespace thinmeta::thin {

class mapping_forest {
	// Each distinct node of the forest: 32 bytes, there are millions.
	struct node {
		uint64_t keys_begin = 0;
		uint64_t keys_end = 0;  // meaningful when has_end
		uint32_t block = 0;     // blocks past 32 bits are damage, refused when added
		uint32_t device = 0;
		uint32_t first = 0;     // internal: its first child in children_; leaf: its index in leaves_
		uint16_t nr_children = 0;
		uint8_t height = 0;
		uint8_t paths : 2 = 0;  // device paths reaching it: 0, 1, or 2 meaning "more"
		uint8_t has_end : 1 = 0;

		pdata::key_range keys() const
		{
			return {keys_begin, has_end ? std::optional<uint64_t>(keys_end) : std::nullopt};
		}
	};
	static_assert(sizeof(node) == 32);

public:
	struct leaf {
		block_address block = 0;
		uint32_t device = 0;  // index (into the devices given) of a device that reaches it
		bool shared = false;  // reached by more than one device path
	};

	// Reads the internal nodes of every device's mapping tree. Throws
	// thinmeta::error naming the device, block and keys on damage.
	mapping_forest(const io::block_device& dev, std::span<const thin_device> devices);

	// The distinct leaves, numbered in ascending block order.
	size_t nr_leaves() const { return leaves_.size(); }
	leaf leaf_at(size_t i) const
	{
		const node& n = nodes_[leaves_[i]];
		return {n.block, n.device, n.paths > 1};
	}

	// Reads the leaves that `want` selects (every leaf when it is empty) in
	// block order with batched reads, checks each, and calls visit(index, node).
	void read_leaves(const std::function<bool(size_t)>& want,
	                 const std::function<void(size_t, const pdata::node_view&)>& visit) const;

	// Calls visit(leaf index) for each leaf of the device's tree, in key order.
	void device_leaves(size_t device, const std::function<void(size_t)>& visit) const;

private:
	uint32_t find_or_add(block_address b, uint32_t height, const pdata::key_range& keys, uint32_t device);
	uint32_t tree_height(block_address root, uint32_t device);
	void read_level(const std::vector<uint32_t>& level, std::vector<std::vector<uint32_t>>& by_height);
	[[noreturn]] void damaged(uint32_t device, block_address b, const pdata::key_range& keys,
	                          const std::string& what) const;

	const io::block_device& dev_;
	std::span<const thin_device> devices_;
	pod_vector<node> nodes_;
	std::vector<uint32_t> children_;
	std::vector<uint32_t> node_of_block_;  // block -> node index + 1, 0 = not seen
	std::vector<uint32_t> roots_;          // device index -> node index
	std::vector<uint32_t> leaves_;         // leaf index -> node index, by block
};

}
