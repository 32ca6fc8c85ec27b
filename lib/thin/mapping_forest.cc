#include "thin/mapping_forest.h"

#include <algorithm>

#include "base/error.h"
#include "base/text.h"
#include "io/aligned_buffer.h"
#include "io/read_ahead.h"
#include "pdata/btree_walk.h"
#include "pdata/node_check.h"
#include "thin/mapping_node_check.h"
#include "thin/block_time.h"

namespace thinmeta::thin {

namespace {

// Deeper than any tree of 2^64 keys can be: a longer path is a cycle.
constexpr uint32_t max_height = 64;
// Blocks read by one batched request.
constexpr size_t batch_blocks = 256;
// Leaves read a slice at a time (a list of the slice's blocks is kept).
constexpr size_t slice_blocks = 128 * batch_blocks;

// Reads `blocks` (ascending) in batches; calls use(i, data) for each.
template <typename Use>
void read_sorted(const io::block_device& dev, const std::vector<block_address>& blocks, Use use)
{
	io::aligned_buffer buf(std::min(blocks.size(), batch_blocks));
	for (size_t first = 0; first < blocks.size(); first += batch_blocks) {
		size_t n = std::min(batch_blocks, blocks.size() - first);
		dev.read_blocks(std::span(blocks).subspan(first, n), buf.data());
		for (size_t i = 0; i < n; ++i)
			use(first + i, buf.block(i));
	}
}

}

mapping_forest::mapping_forest(const io::block_device& dev, std::span<const thin_device> devices)
    : dev_(dev), devices_(devices), node_of_block_(dev.nr_blocks(), 0)
{
	std::vector<std::vector<uint32_t>> by_height;
	for (uint32_t d = 0; d < devices.size(); ++d) {
		block_address root = devices[d].mapping_root;
		uint32_t n;
		if (root < dev.nr_blocks() && node_of_block_[root]) {
			n = node_of_block_[root] - 1;
		} else {
			uint32_t height = tree_height(root, d);
			n = find_or_add(root, height, pdata::key_range{}, d);
			if (by_height.size() <= height)
				by_height.resize(height + 1);
			by_height[height].push_back(n);
		}
		nodes_[n].paths = std::min(2, nodes_[n].paths + 1) & 3;
		roots_.push_back(n);
	}

	// Every parent of a node is one level higher, so by the time a level is
	// read, every path to it has been counted.
	for (size_t h = by_height.size(); h-- > 1;)
		read_level(by_height[h], by_height);

	if (!by_height.empty()) {
		std::vector<uint32_t>& leaf_nodes = by_height[0];
		std::sort(leaf_nodes.begin(), leaf_nodes.end(),
		          [&](uint32_t a, uint32_t b) { return nodes_[a].block < nodes_[b].block; });
		for (size_t i = 0; i < leaf_nodes.size(); ++i)
			nodes_[leaf_nodes[i]].first = static_cast<uint32_t>(i);
		leaves_ = std::move(leaf_nodes);
	}
}

void mapping_forest::damaged(uint32_t device, block_address b, const pdata::key_range& keys,
                             const std::string& what) const
{
	throw error(cat(dev_.path(), ": mapping tree of device ", devices_[device].id, ": block ", b, " (keys ",
	                keys.describe(), "): ", what));
}

uint32_t mapping_forest::find_or_add(block_address b, uint32_t height, const pdata::key_range& keys,
                                     uint32_t device)
{
	if (b >= dev_.nr_blocks() || b > UINT32_MAX)
		damaged(device, b, keys, cat("block ", b, " is past the end of the metadata (", dev_.nr_blocks(), " blocks)"));
	if (uint32_t known = node_of_block_[b]) {
		if (nodes_[known - 1].height != height)
			damaged(device, b, keys, "the block is reached at two different depths: the trees are damaged");
		return known - 1;
	}
	node x;
	x.block = static_cast<uint32_t>(b);
	x.keys_begin = keys.begin;
	x.keys_end = keys.end.value_or(0);
	x.has_end = keys.end.has_value();
	x.height = static_cast<uint8_t>(height);
	x.device = device;
	nodes_.push_back(x);
	node_of_block_[b] = static_cast<uint32_t>(nodes_.size());
	return static_cast<uint32_t>(nodes_.size() - 1);
}

uint32_t mapping_forest::tree_height(block_address root, uint32_t device)
{
	io::aligned_buffer buf(1);
	block_address b = root;
	for (uint32_t height = 0; height < max_height; ++height) {
		if (b >= dev_.nr_blocks())
			damaged(device, b, {}, cat("block ", b, " is past the end of the metadata (", dev_.nr_blocks(), " blocks)"));
		dev_.read_block(b, buf.data());
		std::string fault = pdata::check_node(buf.data(), b, mapping_value_size);
		if (!fault.empty())
			damaged(device, b, {}, fault);
		pdata::node_view n(buf.data());
		if (!n.is_internal())
			return height;
		b = n.child(0);
	}
	damaged(device, root, {}, "the tree is too deep: it has a cycle");
}

void mapping_forest::read_level(const std::vector<uint32_t>& level, std::vector<std::vector<uint32_t>>& by_height)
{
	std::vector<uint32_t> order(level);
	std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return nodes_[a].block < nodes_[b].block; });
	std::vector<block_address> blocks(order.size());
	for (size_t i = 0; i < order.size(); ++i)
		blocks[i] = nodes_[order[i]].block;

	read_sorted(dev_, blocks, [&](size_t i, const uint8_t* data) {
		uint32_t p = order[i];
		// Copies: adding children may move nodes_.
		const node parent = nodes_[p];
		std::string fault = check_mapping_node(data, parent.block, parent.height, parent.keys());
		if (!fault.empty())
			damaged(parent.device, parent.block, parent.keys(), fault);
		pdata::node_view n(data);
		uint32_t first = static_cast<uint32_t>(children_.size());
		for (uint32_t c = 0; c < n.nr_entries(); ++c) {
			pdata::key_range keys = pdata::child_key_range(n, c, parent.keys());
			bool is_new = n.child(c) >= dev_.nr_blocks() || !node_of_block_[n.child(c)];
			uint32_t k = find_or_add(n.child(c), parent.height - 1, keys, parent.device);
			if (is_new)
				by_height[parent.height - 1].push_back(k);
			nodes_[k].paths = std::min(2, nodes_[k].paths + parent.paths) & 3;
			children_.push_back(k);
		}
		nodes_[p].first = first;
		nodes_[p].nr_children = static_cast<uint16_t>(n.nr_entries());
	});
}

void mapping_forest::read_leaves(const std::function<bool(size_t)>& want,
                                 const std::function<void(size_t, const pdata::node_view&)>& visit) const
{
	// A slice of leaves at a time, so no per-leaf list is kept beside the
	// forest; within a slice a reader thread reads and checks each batch
	// while this thread visits the one before.
	std::vector<uint32_t> chosen;
	std::vector<block_address> blocks;
	auto read_slice = [&] {
		std::vector<std::span<const block_address>> batches;
		for (size_t first = 0; first < blocks.size(); first += batch_blocks)
			batches.push_back(std::span(blocks).subspan(first, std::min(batch_blocks, blocks.size() - first)));
		// The first damaged leaf of each batch, if any: (its place, the fault).
		std::vector<std::pair<size_t, std::string>> faults(batches.size(), {SIZE_MAX, {}});
		io::read_ahead reader(dev_, batches, [&](size_t k, const uint8_t* data, size_t n) {
			for (size_t j = 0; j < n; ++j) {
				const node& l = nodes_[leaves_[chosen[k * batch_blocks + j]]];
				std::string fault = check_mapping_node(data + j * block_size, l.block, 0, l.keys());
				if (!fault.empty()) {
					faults[k] = {j, std::move(fault)};
					return;
				}
			}
		});
		for (size_t k = 0; k < batches.size(); ++k) {
			const uint8_t* data = reader.next();
			for (size_t j = 0; j < batches[k].size(); ++j) {
				uint32_t i = chosen[k * batch_blocks + j];
				if (j == faults[k].first) {
					const node& l = nodes_[leaves_[i]];
					damaged(l.device, l.block, l.keys(), faults[k].second);
				}
				visit(i, pdata::node_view(data + j * block_size));
			}
		}
		chosen.clear();
		blocks.clear();
	};
	for (size_t i = 0; i < leaves_.size(); ++i) {
		if (want && !want(i))
			continue;
		chosen.push_back(static_cast<uint32_t>(i));
		blocks.push_back(nodes_[leaves_[i]].block);
		if (blocks.size() == slice_blocks)
			read_slice();
	}
	if (!blocks.empty())
		read_slice();
}

void mapping_forest::device_leaves(size_t device, const std::function<void(size_t)>& visit) const
{
	struct position {
		uint32_t node;
		uint32_t next;
	};
	std::vector<position> stack{{roots_[device], 0}};
	while (!stack.empty()) {
		position& top = stack.back();
		const node& x = nodes_[top.node];
		if (x.height == 0) {
			visit(x.first);
			stack.pop_back();
			continue;
		}
		if (top.next == x.nr_children) {
			stack.pop_back();
			continue;
		}
		uint32_t child = children_[x.first + top.next++];
		stack.push_back({child, 0});
	}
}

}
