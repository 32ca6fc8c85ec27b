#include "pdata/btree_walk.h"

#include <algorithm>
#include <numeric>

#include "base/error.h"
#include "base/text.h"
#include "pdata/node_check.h"

namespace thinmeta::pdata {

namespace {
// Far deeper than any tree of 2^64 keys can be; a deeper path is a cycle.
constexpr size_t max_depth = 64;
}

key_range child_key_range(const node_view& node, uint32_t i, const key_range& parent)
{
	key_range r{node.key(i), i + 1 < node.nr_entries() ? std::optional<uint64_t>(node.key(i + 1)) : parent.end};
	if (i == 0)
		r.begin = std::max(r.begin, parent.begin);
	return r;
}

btree_walker::btree_walker(const io::block_device& dev, uint32_t leaf_value_size)
    : dev_(dev), value_size_(leaf_value_size)
{
}

std::string btree_walker::check(const uint8_t* block, block_address where, const key_range& keys) const
{
	std::string fault = check_node(block, where, value_size_);
	if (!fault.empty())
		return fault;
	return check_keys_within(block, keys);
}

void btree_walker::walk(block_address root, btree_visitor& visitor)
{
	key_range all{};
	if (root >= dev_.nr_blocks()) {
		visitor.damaged(root, all, cat("root block ", root, " is past the end of the metadata (", dev_.nr_blocks(),
		                               " blocks)"));
		return;
	}
	if (levels_.empty())
		levels_.resize(1);
	auto& top = levels_[0];
	top.buffer.reserve(1);
	dev_.read_block(root, top.buffer.data());
	std::string fault = check(top.buffer.data(), root, all);
	if (!fault.empty()) {
		visitor.damaged(root, all, fault);
		return;
	}
	node_view n(top.buffer.data());
	path_.assign(1, root);
	if (visitor.visit(root, n, all) && n.is_internal())
		descend(n, all, 1, visitor);
	path_.clear();
}

void btree_walker::descend(const node_view& node, const key_range& keys, size_t depth, btree_visitor& visitor)
{
	uint32_t nr = node.nr_entries();
	auto range_of = [&](uint32_t i) { return child_key_range(node, i, keys); };

	if (depth >= max_depth) {
		visitor.damaged(path_.back(), keys, "the tree is too deep: it has a cycle");
		return;
	}
	if (levels_.size() <= depth)
		levels_.resize(depth + 1);
	auto& lv = levels_[depth];

	// Read every child that can be read, in block order, in as few requests as
	// the layout allows; remember where each one landed.
	std::vector<uint32_t> order(nr);
	std::iota(order.begin(), order.end(), 0u);
	std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return node.child(a) < node.child(b); });
	lv.sorted.clear();
	lv.slot.assign(nr, UINT32_MAX);
	for (uint32_t i : order) {
		block_address c = node.child(i);
		if (c >= dev_.nr_blocks() || std::find(path_.begin(), path_.end(), c) != path_.end())
			continue;
		lv.slot[i] = static_cast<uint32_t>(lv.sorted.size());
		lv.sorted.push_back(c);
	}
	lv.buffer.reserve(std::max<size_t>(lv.sorted.size(), 1));
	dev_.read_blocks(lv.sorted, lv.buffer.data());

	for (uint32_t i = 0; i < nr; ++i) {
		block_address c = node.child(i);
		key_range r = range_of(i);
		if (lv.slot[i] == UINT32_MAX) {
			if (c >= dev_.nr_blocks())
				visitor.damaged(c, r, cat("block ", c, " is past the end of the metadata (", dev_.nr_blocks(),
				                          " blocks)"));
			else
				visitor.damaged(c, r, cat("block ", c, " points back to its own ancestor: the tree has a cycle"));
			continue;
		}
		// The slot stays valid while the child's subtree is walked: deeper
		// levels have buffers of their own.
		const uint8_t* block = lv.buffer.block(lv.slot[i]);
		std::string fault = check(block, c, r);
		if (!fault.empty()) {
			visitor.damaged(c, r, fault);
			continue;
		}
		node_view child(block);
		if (!visitor.visit(c, child, r) || !child.is_internal())
			continue;
		path_.push_back(c);
		descend(child, r, depth + 1, visitor);
		path_.pop_back();
	}
}

void strict_btree_visitor::damaged(block_address where, const key_range& keys, const std::string& what)
{
	throw error(cat(tree_name_, ": block ", where, " (keys ", keys.describe(), "): ", what));
}

}
