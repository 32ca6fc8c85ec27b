#include "thin/mapping_forest.h"

#include <algorithm>
#include <numeric>

#include "base/error.h"
#include "base/text.h"
#include "pdata/btree_walk.h"
#include "thin/mapping_leaf_reader.h"

namespace thinmeta::thin {

mapping_forest::mapping_forest(const io::block_device& dev, std::span<const thin_device> devices)
    : internal_(dev, devices), leaf_lists_(internal_.nr_nodes()), leaf_roots_(devices.size(), no_leaf)
{
	if (devices.size() >= (size_t(1) << 29))
		throw error(cat(dev.path(), ": ", devices.size(), " thin devices: more than a pool can hold"));
	// While building: block -> leaf number + 1, 0 = not seen.
	std::vector<uint32_t> leaf_of_block(dev.nr_blocks(), 0);
	for (uint32_t d = 0; d < devices.size(); ++d)
		if (auto root = internal_.root_of(d); root.leaf)
			leaf_roots_[d] = add_leaf(root.value, {}, d, leaf_of_block);
	internal_.read_bottom_nodes([&](size_t p, const pdata::node_view& n) {
		const internal_forest::node& x = internal_.node_at(p);
		leaf_lists_[p] = {static_cast<uint32_t>(leaf_children_.size()), n.nr_entries()};
		for (uint32_t c = 0; c < n.nr_entries(); ++c)
			leaf_children_.push_back(add_leaf(n.child(c), pdata::child_key_range(n, c, x.keys()), x.device,
			                                  leaf_of_block));
	});
	std::vector<uint32_t>().swap(leaf_of_block);
	number_leaves_by_block();
}

uint32_t mapping_forest::add_leaf(block_address b, const pdata::key_range& keys, uint32_t device,
                                  std::vector<uint32_t>& leaf_of_block)
{
	// The internal forest has refused blocks past the end or at two depths.
	if (uint32_t known = leaf_of_block[b])
		return known - 1;
	leaf_node x;
	x.block = static_cast<uint32_t>(b);
	x.keys_begin = keys.begin;
	x.keys_end = keys.end.value_or(0);
	x.has_end = keys.end.has_value();
	x.device = device;
	x.shared = internal_.leaf_paths(b) > 1;
	leaves_.push_back(x);
	leaf_of_block[b] = static_cast<uint32_t>(leaves_.size());
	return static_cast<uint32_t>(leaves_.size() - 1);
}

void mapping_forest::number_leaves_by_block()
{
	// rank[i]: where leaf i (numbered as found) goes in block order.
	std::vector<uint32_t> rank(leaves_.size());
	{
		std::vector<uint32_t> order(leaves_.size());
		std::iota(order.begin(), order.end(), 0u);
		std::sort(order.begin(), order.end(),
		          [&](uint32_t a, uint32_t b) { return leaves_[a].block < leaves_[b].block; });
		for (uint32_t i = 0; i < order.size(); ++i)
			rank[order[i]] = i;
	}
	for (uint32_t& c : leaf_children_)
		c = rank[c];
	for (uint32_t& r : leaf_roots_)
		if (r != no_leaf)
			r = rank[r];
	// Move each leaf to its place, a cycle of the permutation at a time.
	for (uint32_t i = 0; i < rank.size(); ++i)
		while (rank[i] != i) {
			uint32_t to = rank[i];
			std::swap(leaves_[i], leaves_[to]);
			std::swap(rank[i], rank[to]);
		}
}

void mapping_forest::read_leaves(const std::function<bool(size_t)>& want,
                                 const std::function<void(size_t, const pdata::node_view&)>& visit) const
{
	// A slice of leaves at a time, so no per-leaf list is kept beside the
	// forest.
	std::vector<leaf_to_read> slice;
	io::read_ahead_buffers buffers;
	auto read_slice = [&] {
		read_mapping_leaves(internal_.device(), internal_.devices(), slice, buffers,
		                    [&](const leaf_to_read& l, const pdata::node_view& n) { visit(l.tag, n); });
		slice.clear();
	};
	for (size_t i = 0; i < leaves_.size(); ++i) {
		if (want && !want(i))
			continue;
		const leaf_node& x = leaves_[i];
		slice.emplace_back(x.block, x.keys(), x.device, x.shared, static_cast<uint32_t>(i));
		if (slice.size() == forest_slice_blocks)
			read_slice();
	}
	if (!slice.empty())
		read_slice();
}

void mapping_forest::device_leaves(size_t device, const std::function<void(size_t)>& visit) const
{
	if (leaf_roots_[device] != no_leaf) {
		visit(leaf_roots_[device]);
		return;
	}
	struct position {
		uint32_t node;
		uint32_t next;
	};
	std::vector<position> stack{{internal_.root_of(device).value, 0}};
	while (!stack.empty()) {
		position& top = stack.back();
		uint32_t node = top.node;
		if (internal_.node_at(node).height == 1) {
			const leaf_list& below = leaf_lists_[node];
			for (uint32_t c = 0; c < below.count; ++c)
				visit(leaf_children_[below.first + c]);
			stack.pop_back();
			continue;
		}
		auto below = internal_.children(node);
		if (top.next == below.size()) {
			stack.pop_back();
			continue;
		}
		stack.push_back({below[top.next++], 0});
	}
}

}
