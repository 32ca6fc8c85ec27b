// The internal nodes of many devices' mapping trees read as one forest, each
// distinct node once, and how many device paths reach each leaf: two bits a
// metadata block, no record per leaf. Snapshots share subtrees; a tool that
// needs every distinct leaf once, with the device that holds it, reads each
// shared subtree once, in memory that grows with the internal nodes (about
// one node in a hundred) rather than with the leaves (thin_ls). Internal
// nodes are read one height at a time with sorted batched reads. Leaves are
// checked against the keys their first parent gives them, and read either
// in the order of their parents, a slice at a time, each slice sorted by
// block (copies from the page cache cost the same in any order), or in
// block order, a window of blocks at a time, the nodes of height 1 read
// again for each window (reads from a disk cost seeks when scattered).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/pod_vector.h"
#include "io/block_device.h"
#include "pdata/btree_node.h"
#include "pdata/key_range.h"
#include "thin/mapping_leaf_reader.h"
#include "thin/metadata_reader.h"

namespace thinmeta::thin {

class internal_forest {
public:
	// A distinct internal node.
	struct node {
		uint64_t keys_begin = 0;
		uint64_t keys_end = 0;  // meaningful when has_end
		uint32_t block = 0;     // blocks past 32 bits are damage, refused when added
		uint32_t device = 0;    // index (into the devices given) of the first device found reaching it
		uint32_t first = 0;     // its first child in children_ (height 2 and up)
		uint16_t nr_children = 0;
		uint8_t height = 0;
		uint8_t paths : 2 = 0;  // device paths reaching it: 1, or 2 meaning "more"
		uint8_t has_end : 1 = 0;

		pdata::key_range keys() const
		{
			return {keys_begin, has_end ? std::optional<uint64_t>(keys_end) : std::nullopt};
		}
	};
	static_assert(sizeof(node) == 32);

	// A device's root: an internal node (its index) or a leaf (its block).
	struct root {
		uint32_t value = 0;
		bool leaf = false;
	};

	// The order in which read_leaves() hands out the leaves.
	enum class leaf_order {
		parents,  // a slice at a time in their parents' order; within a slice by block
		blocks,   // ascending blocks
	};

	// Leaves read in block order hold a record each until their window of
	// blocks is read: windows hold this many leaves or more, and there are
	// at most max_windows of them, so the nodes of height 1 are read again
	// a few times at most (a hundredth of the leaves each time).
	static constexpr size_t min_window_leaves = 4 * forest_slice_blocks;
	static constexpr size_t max_windows = 8;

	// A leaf as read_leaves() hands it out.
	struct leaf {
		block_address block = 0;
		uint32_t device = 0;  // index of the device its first parent was found in
		bool shared = false;  // reached by more than one device path
	};

	// Reads the internal nodes of every device's mapping tree. Throws
	// thinmeta::error naming the device, block and keys on damage.
	internal_forest(const io::block_device& dev, std::span<const thin_device> devices);

	const io::block_device& device() const { return dev_; }
	std::span<const thin_device> devices() const { return devices_; }
	size_t nr_nodes() const { return nodes_.size(); }
	const node& node_at(size_t i) const { return nodes_[i]; }
	// The internal nodes below node i, in key order; empty at height 1,
	// whose children are leaves (read_bottom_nodes()).
	std::span<const uint32_t> children(size_t i) const
	{
		return {children_.data() + nodes_[i].first, nodes_[i].height > 1 ? nodes_[i].nr_children : 0u};
	}
	root root_of(size_t device) const { return roots_[device]; }
	// Device paths reaching the leaf at block b: 0 (b is no leaf), 1, or 2
	// meaning more than one.
	uint32_t leaf_paths(block_address b) const { return (leaf_paths_[b >> 2] >> ((b & 3) * 2)) & 3; }

	// Reads the nodes of height 1 again in block order, with batched reads,
	// checks each where it stands, and calls visit(node index, node).
	void read_bottom_nodes(const std::function<void(size_t, const pdata::node_view&)>& visit) const;

	// Reads once each distinct leaf that want(block) selects (every leaf
	// when it is empty), checks it, and calls visit(leaf, node), in the
	// order asked for; in the parents' order, devices whose root is a leaf
	// come first. min_window: min_window_leaves, or fewer to test windows.
	void read_leaves(const std::function<bool(block_address)>& want,
	                 const std::function<void(const leaf&, const pdata::node_view&)>& visit,
	                 leaf_order order = leaf_order::parents, size_t min_window = min_window_leaves) const;

private:
	// An internal node (index) or a leaf (block).
	struct node_ref {
		uint32_t value = 0;
		bool leaf = false;
	};
	// The node or leaf at block b if met already.
	std::optional<node_ref> known(block_address b) const;
	// Internal nodes not known yet are queued to be read (to_read_).
	node_ref find_or_add(block_address b, uint32_t height, const pdata::key_range& keys, uint32_t device);
	void add_path(node_ref r, uint32_t paths);
	uint32_t tree_height(block_address root, uint32_t device);
	void read_level(std::vector<uint32_t> level);
	// Ranges of blocks [first, second) cutting the leaves that want selects
	// into at most max_windows windows of at least min_window leaves (the
	// last may hold fewer).
	std::vector<std::pair<block_address, block_address>> leaf_windows(
	    const std::function<bool(block_address)>& want, size_t min_window) const;
	[[noreturn]] void damaged(uint32_t device, block_address b, const pdata::key_range& keys,
	                          const std::string& what) const;

	const io::block_device& dev_;
	std::span<const thin_device> devices_;
	pod_vector<node> nodes_;
	pod_vector<uint32_t> children_;
	std::vector<root> roots_;  // by device index
	pod_vector<uint8_t> leaf_paths_;  // two bits a metadata block
	// While building: block -> internal node, and the nodes to read by height.
	std::unordered_map<uint32_t, uint32_t> index_;
	std::vector<std::vector<uint32_t>> to_read_;
};

}
