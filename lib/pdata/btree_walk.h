// Walks a b-tree in key order without holding more than one path of it: each
// internal node's children are fetched with one batched read, checked, and
// handed to a visitor. Used by every tool that streams mappings out
// (dump, delta, ls, rmap); thin_check has its own breadth-first checker.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "io/aligned_buffer.h"
#include "io/block_device.h"
#include "pdata/btree_node.h"
#include "pdata/key_range.h"

namespace thinmeta::pdata {

// What a walk calls. visit() sees every sound node (leaves included) before
// its children and returns false to skip them. damaged() is told about each
// node that cannot be used and the keys lost with it; it may throw to stop.
class btree_visitor {
public:
	virtual ~btree_visitor() = default;
	virtual bool visit(block_address where, const node_view& node, const key_range& keys) = 0;
	virtual void damaged(block_address where, const key_range& keys, const std::string& what) = 0;
};

// The keys child i of an internal node may hold, given the node's own bounds.
key_range child_key_range(const node_view& node, uint32_t i, const key_range& parent);

class btree_walker {
public:
	btree_walker(const io::block_device& dev, uint32_t leaf_value_size);

	void walk(block_address root, btree_visitor& visitor);

private:
	struct level {
		io::aligned_buffer buffer;
		std::vector<block_address> sorted;
		std::vector<uint32_t> slot;  // key order -> buffer slot
	};

	std::string check(const uint8_t* block, block_address where, const key_range& keys) const;
	void descend(const node_view& node, const key_range& keys, size_t depth, btree_visitor& visitor);

	const io::block_device& dev_;
	uint32_t value_size_;
	std::deque<level> levels_;  // a deque: growing it keeps outer levels in place
	std::vector<block_address> path_;
};

// Throws thinmeta::error naming the device, block and keys on the first damage.
class strict_btree_visitor : public btree_visitor {
public:
	explicit strict_btree_visitor(std::string tree_name) : tree_name_(std::move(tree_name)) {}
	void damaged(block_address where, const key_range& keys, const std::string& what) override;

private:
	std::string tree_name_;
};

}
