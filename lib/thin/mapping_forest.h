// The bottom-level mapping trees of many devices read as one forest, each
// distinct node once. Snapshots share subtrees; tools that need every
// device's view (thin_ls, thin_rmap) read a shared subtree once instead of
// once per device. Internal nodes are read first, one height at a time with
// sorted batched reads; leaves are then handed out in block order. The
// forest knows how many device paths reach each leaf (one, or more: shared),
// which device an unshared leaf belongs to, and each device's leaves in key
// order. A leaf costs 24 bytes and a word in its parent's child list; the
// block -> node table used while building is dropped once it is built.
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
	// A distinct internal node: about one node in a hundred.
	struct node {
		uint64_t keys_begin = 0;
		uint64_t keys_end = 0;  // meaningful when has_end
		uint32_t block = 0;     // blocks past 31 bits are damage, refused when added
		uint32_t device = 0;
		uint32_t first = 0;     // its first child in children_ (leaf numbers when height is 1)
		uint16_t nr_children = 0;
		uint8_t height = 0;
		uint8_t paths : 2 = 0;  // device paths reaching it: 0, 1, or 2 meaning "more"
		uint8_t has_end : 1 = 0;
	};
	static_assert(sizeof(node) == 32);
	// A distinct leaf: there are millions, 24 bytes each.
	struct leaf_node {
		uint64_t keys_begin = 0;
		uint64_t keys_end = 0;
		uint32_t block = 0;
		uint32_t device : 29 = 0;
		uint32_t paths : 2 = 0;
		uint32_t has_end : 1 = 0;
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
		return {l.block, l.device, l.paths > 1};
	}

	// Reads the leaves that `want` selects (every leaf when it is empty) in
	// block order with batched reads, checks each, and calls visit(index, node).
	void read_leaves(const std::function<bool(size_t)>& want,
	                 const std::function<void(size_t, const pdata::node_view&)>& visit) const;

	// Calls visit(leaf index) for each leaf of the device's tree, in key order.
	void device_leaves(size_t device, const std::function<void(size_t)>& visit) const;

private:
	// A node or a leaf: its number in nodes_ or leaves_, and which.
	struct node_ref {
		uint32_t index = 0;
		bool leaf = false;
	};
	// A non-zero entry of seen_.
	static node_ref ref_of(uint32_t seen) { return {(seen & ~leaf_bit) - 1, (seen & leaf_bit) != 0}; }
	static pdata::key_range keys_of(uint64_t begin, uint64_t end, bool has_end)
	{
		return {begin, has_end ? std::optional<uint64_t>(end) : std::nullopt};
	}
	node_ref find_or_add(block_address b, uint32_t height, const pdata::key_range& keys, uint32_t device);
	void add_path(node_ref r, uint32_t paths);
	uint32_t tree_height(block_address root, uint32_t device);
	void read_level(const std::vector<uint32_t>& level, std::vector<std::vector<uint32_t>>& by_height);
	void number_leaves_by_block();
	[[noreturn]] void damaged(uint32_t device, block_address b, const pdata::key_range& keys,
	                          const std::string& what) const;

	const io::block_device& dev_;
	std::span<const thin_device> devices_;
	pod_vector<node> nodes_;
	pod_vector<leaf_node> leaves_;  // by block once built
	pod_vector<uint32_t> children_;
	// While building: block -> number + 1 (leaves with leaf_bit), 0 = not seen.
	static constexpr uint32_t leaf_bit = 0x80000000u;
	std::vector<uint32_t> seen_;
	std::vector<node_ref> roots_;  // by device index
};

}
