#include "thin/mapping_forest.h"

#include <algorithm>
#include <numeric>

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
    : dev_(dev), devices_(devices), seen_(dev.nr_blocks(), 0)
{
	if (devices.size() >= (size_t(1) << 29))
		throw error(cat(dev.path(), ": ", devices.size(), " thin devices: more than a pool can hold"));
	std::vector<std::vector<uint32_t>> by_height;  // internal nodes to read, by height
	for (uint32_t d = 0; d < devices.size(); ++d) {
		block_address root = devices[d].mapping_root;
		node_ref r;
		if (root < dev.nr_blocks() && seen_[root]) {
			r = ref_of(seen_[root]);
		} else {
			uint32_t height = tree_height(root, d);
			r = find_or_add(root, height, pdata::key_range{}, d);
			if (!r.leaf) {
				if (by_height.size() <= height)
					by_height.resize(height + 1);
				by_height[height].push_back(r.index);
			}
		}
		add_path(r, 1);
		roots_.push_back(r);
	}

	// Every parent of a node is one level higher, so by the time a level is
	// read, every path to it has been counted.
	for (size_t h = by_height.size(); h-- > 1;)
		read_level(by_height[h], by_height);

	std::vector<uint32_t>().swap(seen_);
	number_leaves_by_block();
}

void mapping_forest::damaged(uint32_t device, block_address b, const pdata::key_range& keys,
                             const std::string& what) const
{
	throw error(cat(dev_.path(), ": mapping tree of device ", devices_[device].id, ": block ", b, " (keys ",
	                keys.describe(), "): ", what));
}

mapping_forest::node_ref mapping_forest::find_or_add(block_address b, uint32_t height, const pdata::key_range& keys,
                                                     uint32_t device)
{
	if (b >= dev_.nr_blocks())
		damaged(device, b, keys, cat("block ", b, " is past the end of the metadata (", dev_.nr_blocks(), " blocks)"));
	if (b >= leaf_bit)
		damaged(device, b, keys, cat("block ", b, " is past the 2^31 blocks (8 TiB) of metadata this tool reads"));
	if (uint32_t known = seen_[b]) {
		node_ref r = ref_of(known);
		if (r.leaf != (height == 0) || (!r.leaf && nodes_[r.index].height != height))
			damaged(device, b, keys, "the block is reached at two different depths: the trees are damaged");
		return r;
	}
	if (height == 0) {
		leaf_node x;
		x.block = static_cast<uint32_t>(b);
		x.keys_begin = keys.begin;
		x.keys_end = keys.end.value_or(0);
		x.has_end = keys.end.has_value();
		x.device = device;
		leaves_.push_back(x);
		seen_[b] = static_cast<uint32_t>(leaves_.size()) | leaf_bit;
		return {static_cast<uint32_t>(leaves_.size() - 1), true};
	}
	node x;
	x.block = static_cast<uint32_t>(b);
	x.keys_begin = keys.begin;
	x.keys_end = keys.end.value_or(0);
	x.has_end = keys.end.has_value();
	x.height = static_cast<uint8_t>(height);
	x.device = device;
	nodes_.push_back(x);
	seen_[b] = static_cast<uint32_t>(nodes_.size());
	return {static_cast<uint32_t>(nodes_.size() - 1), false};
}

void mapping_forest::add_path(node_ref r, uint32_t paths)
{
	if (r.leaf)
		leaves_[r.index].paths = std::min(2u, leaves_[r.index].paths + paths) & 3;
	else
		nodes_[r.index].paths = std::min(2u, nodes_[r.index].paths + paths) & 3;
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
		pdata::key_range parent_keys = keys_of(parent.keys_begin, parent.keys_end, parent.has_end);
		std::string fault = check_mapping_node(data, parent.block, parent.height, parent_keys);
		if (!fault.empty())
			damaged(parent.device, parent.block, parent_keys, fault);
		pdata::node_view n(data);
		uint32_t first = static_cast<uint32_t>(children_.size());
		for (uint32_t c = 0; c < n.nr_entries(); ++c) {
			pdata::key_range keys = pdata::child_key_range(n, c, parent_keys);
			bool is_new = n.child(c) >= dev_.nr_blocks() || !seen_[n.child(c)];
			node_ref k = find_or_add(n.child(c), parent.height - 1, keys, parent.device);
			if (is_new && !k.leaf)
				by_height[parent.height - 1].push_back(k.index);
			add_path(k, parent.paths);
			children_.push_back(k.index);
		}
		nodes_[p].first = first;
		nodes_[p].nr_children = static_cast<uint16_t>(n.nr_entries());
	});
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
	for (const node& n : nodes_)
		if (n.height == 1)
			for (uint32_t c = 0; c < n.nr_children; ++c)
				children_[n.first + c] = rank[children_[n.first + c]];
	for (node_ref& r : roots_)
		if (r.leaf)
			r.index = rank[r.index];
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
	// forest; within a slice read_ahead reads and checks each batch on
	// other threads while this one visits the batch before.
	std::vector<uint32_t> chosen;
	std::vector<block_address> blocks;
	io::read_ahead_buffers buffers;
	auto read_slice = [&] {
		std::vector<std::span<const block_address>> batches;
		for (size_t first = 0; first < blocks.size(); first += batch_blocks)
			batches.push_back(std::span(blocks).subspan(first, std::min(batch_blocks, blocks.size() - first)));
		// The first damaged leaf of each batch, if any: (its place, the fault).
		std::vector<std::pair<size_t, std::string>> faults(batches.size(), {SIZE_MAX, {}});
		io::read_ahead reader(dev_, batches, [&](size_t k, const uint8_t* data, size_t n) {
			for (size_t j = 0; j < n; ++j) {
				const leaf_node& l = leaves_[chosen[k * batch_blocks + j]];
				std::string fault = check_mapping_node(data + j * block_size, l.block, 0,
				                                       keys_of(l.keys_begin, l.keys_end, l.has_end));
				if (!fault.empty()) {
					faults[k] = {j, std::move(fault)};
					return;
				}
			}
		}, buffers);
		for (size_t k = 0; k < batches.size(); ++k) {
			const uint8_t* data = reader.next();
			for (size_t j = 0; j < batches[k].size(); ++j) {
				uint32_t i = chosen[k * batch_blocks + j];
				if (j == faults[k].first) {
					const leaf_node& l = leaves_[i];
					damaged(l.device, l.block, keys_of(l.keys_begin, l.keys_end, l.has_end), faults[k].second);
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
		blocks.push_back(leaves_[i].block);
		if (blocks.size() == slice_blocks)
			read_slice();
	}
	if (!blocks.empty())
		read_slice();
}

void mapping_forest::device_leaves(size_t device, const std::function<void(size_t)>& visit) const
{
	node_ref root = roots_[device];
	if (root.leaf) {
		visit(root.index);
		return;
	}
	struct position {
		uint32_t node;
		uint32_t next;
	};
	std::vector<position> stack{{root.index, 0}};
	while (!stack.empty()) {
		position& top = stack.back();
		const node& x = nodes_[top.node];
		if (top.next == x.nr_children) {
			stack.pop_back();
			continue;
		}
		uint32_t child = children_[x.first + top.next++];
		if (x.height == 1)
			visit(child);
		else
			stack.push_back({child, 0});
	}
}

}
