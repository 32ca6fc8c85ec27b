// The bottom-level mapping trees of many devices read as one forest, each
// distinct node once, with a record of each distinct leaf. Snapshots share
// subtrees; a tool that needs every device's view with a table per leaf
// (thin_rmap) reads a shared subtree once instead of once per device. The
// internal nodes are an internal_forest; the leaves are then numbered in
// block order and handed out in that order, so that per-leaf tables can be
// kept beside the forest.
// The forest knows how many device paths reach each leaf (one, or more:
// shared), which device an unshared leaf belongs to, and each device's
// leaves in key order. A leaf costs 24 bytes and a word in its parent's
// child list; the block -> leaf table used while building is dropped once
// it is built.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/pod_vector.h"
#include "io/block_device.h"
#include "pdata/btree_node.h"
#include "pdata/key_range.h"
#include "thin/internal_forest.h"
#include "thin/metadata_reader.h"

namespace thinmeta::thin {

class mapping_forest {
	// A distinct leaf: there are millions, 24 bytes each.
	struct leaf_node {
		uint64_t keys_begin = 0;
		uint64_t keys_end = 0;
		uint32_t block = 0;
		uint32_t device : 29 = 0;
		uint32_t shared : 1 = 0;
		uint32_t has_end : 1 = 0;

		pdata::key_range keys() const
		{
			return {keys_begin, has_end ? std::optional<uint64_t>(keys_end) : std::nullopt};
		}
	};
	static_assert(sizeof(leaf_node) == 24);

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
		const leaf_node& l = leaves_[i];
		return {l.block, l.device, l.shared != 0};
	}

	// Reads the leaves that `want` selects (every leaf when it is empty) in
	// block order with batched reads, checks each, and calls visit(index, node).
	void read_leaves(const std::function<bool(size_t)>& want,
	                 const std::function<void(size_t, const pdata::node_view&)>& visit) const;

	// Calls visit(leaf index) for each leaf of the device's tree, in key order.
	void device_leaves(size_t device, const std::function<void(size_t)>& visit) const;

private:
	// The leaves below a node of height 1: leaf_children_[first, first + count).
	struct leaf_list {
		uint32_t first = 0;
		uint32_t count = 0;
	};
	uint32_t add_leaf(block_address b, const pdata::key_range& keys, uint32_t device,
	                  std::vector<uint32_t>& leaf_of_block);
	void number_leaves_by_block();

	internal_forest internal_;
	pod_vector<leaf_node> leaves_;  // by block once built
	pod_vector<uint32_t> leaf_children_;
	std::vector<leaf_list> leaf_lists_;  // by internal node
	std::vector<uint32_t> leaf_roots_;   // by device: a leaf, or no_leaf when its root is internal
	static constexpr uint32_t no_leaf = UINT32_MAX;
};

}
