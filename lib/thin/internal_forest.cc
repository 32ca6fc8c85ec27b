#include "thin/internal_forest.h"

#include <algorithm>
#include <utility>

#include "base/text.h"
#include "io/aligned_buffer.h"
#include "pdata/btree_walk.h"
#include "pdata/node_check.h"
#include "thin/block_time.h"
#include "thin/mapping_leaf_reader.h"
#include "thin/mapping_node_check.h"

namespace thinmeta::thin {

namespace {

// Deeper than any tree of 2^64 keys can be: a longer path is a cycle.
constexpr uint32_t max_height = 64;

// Internal nodes read by one batched request: they are a hundredth of the
// leaves, and a batch of them stays in memory while their leaves are read.
constexpr size_t internal_batch_blocks = 64;

// Reads `blocks` (ascending) in batches; calls use(i, data) for each.
template <typename Use>
void read_sorted(const io::block_device& dev, const std::vector<block_address>& blocks, Use use)
{
	io::aligned_buffer buf(std::min(blocks.size(), internal_batch_blocks));
	for (size_t first = 0; first < blocks.size(); first += internal_batch_blocks) {
		size_t n = std::min(internal_batch_blocks, blocks.size() - first);
		dev.read_blocks(std::span(blocks).subspan(first, n), buf.data());
		for (size_t i = 0; i < n; ++i)
			use(first + i, buf.block(i));
	}
}

// The nodes of `nodes` that `pick` selects, by block.
template <typename Pick>
std::vector<uint32_t> by_block(const pod_vector<internal_forest::node>& nodes, Pick pick)
{
	std::vector<uint32_t> order;
	for (uint32_t i = 0; i < nodes.size(); ++i)
		if (pick(nodes[i]))
			order.push_back(i);
	std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return nodes[a].block < nodes[b].block; });
	return order;
}

}

internal_forest::internal_forest(const io::block_device& dev, std::span<const thin_device> devices)
    : dev_(dev), devices_(devices), leaf_paths_((dev.nr_blocks() + 3) / 4)
{
	for (uint32_t d = 0; d < devices.size(); ++d) {
		block_address b = devices[d].mapping_root;
		// A root met before is not read again to learn its height.
		std::optional<node_ref> k = known(b);
		node_ref r = k ? *k : find_or_add(b, tree_height(b, d), pdata::key_range{}, d);
		add_path(r, 1);
		roots_.push_back({r.value, r.leaf});
	}

	// Every parent of a node is one level higher, so by the time a level is
	// read, every path to it has been counted.
	for (size_t h = to_read_.size(); h-- > 1;)
		read_level(std::exchange(to_read_[h], {}));
	std::unordered_map<uint32_t, uint32_t>().swap(index_);
}

std::optional<internal_forest::node_ref> internal_forest::known(block_address b) const
{
	if (b >= dev_.nr_blocks() || b > UINT32_MAX)
		return std::nullopt;
	if (leaf_paths(b))
		return node_ref{static_cast<uint32_t>(b), true};
	if (auto it = index_.find(static_cast<uint32_t>(b)); it != index_.end())
		return node_ref{it->second, false};
	return std::nullopt;
}

void internal_forest::damaged(uint32_t device, block_address b, const pdata::key_range& keys,
                              const std::string& what) const
{
	throw mapping_tree_damage(dev_, devices_[device], b, keys, what);
}

internal_forest::node_ref internal_forest::find_or_add(block_address b, uint32_t height,
                                                       const pdata::key_range& keys, uint32_t device)
{
	if (b >= dev_.nr_blocks())
		damaged(device, b, keys, cat("block ", b, " is past the end of the metadata (", dev_.nr_blocks(), " blocks)"));
	if (b > UINT32_MAX)
		damaged(device, b, keys, cat("block ", b, " is past the 2^32 blocks (16 TiB) of metadata this tool reads"));
	uint32_t block = static_cast<uint32_t>(b);
	if (std::optional<node_ref> k = known(b)) {
		if (k->leaf != (height == 0) || (!k->leaf && nodes_[k->value].height != height))
			damaged(device, b, keys, "the block is reached at two different depths: the trees are damaged");
		return *k;
	}
	if (height == 0)
		return {block, true};
	node x;
	x.block = block;
	x.keys_begin = keys.begin;
	x.keys_end = keys.end.value_or(0);
	x.has_end = keys.end.has_value();
	x.height = static_cast<uint8_t>(height);
	x.device = device;
	nodes_.push_back(x);
	uint32_t index = static_cast<uint32_t>(nodes_.size() - 1);
	index_.emplace(block, index);
	if (to_read_.size() <= height)
		to_read_.resize(height + 1);
	to_read_[height].push_back(index);
	return {index, false};
}

void internal_forest::add_path(node_ref r, uint32_t paths)
{
	if (r.leaf) {
		uint8_t& byte = leaf_paths_[r.value >> 2];
		unsigned shift = (r.value & 3) * 2;
		uint32_t now = std::min(2u, ((byte >> shift) & 3) + paths);
		byte = static_cast<uint8_t>((byte & ~(3u << shift)) | now << shift);
	} else {
		nodes_[r.value].paths = std::min(2u, nodes_[r.value].paths + paths) & 3;
	}
}

uint32_t internal_forest::tree_height(block_address root, uint32_t device)
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

void internal_forest::read_level(std::vector<uint32_t> order)
{
	std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return nodes_[a].block < nodes_[b].block; });
	std::vector<block_address> blocks(order.size());
	for (size_t i = 0; i < order.size(); ++i)
		blocks[i] = nodes_[order[i]].block;

	read_sorted(dev_, blocks, [&](size_t i, const uint8_t* data) {
		uint32_t p = order[i];
		// A copy: adding children may move nodes_.
		const node parent = nodes_[p];
		std::string fault = check_mapping_node(data, parent.block, parent.height, parent.keys());
		if (!fault.empty())
			damaged(parent.device, parent.block, parent.keys(), fault);
		pdata::node_view n(data);
		uint32_t first = static_cast<uint32_t>(children_.size());
		for (uint32_t c = 0; c < n.nr_entries(); ++c) {
			node_ref k = find_or_add(n.child(c), parent.height - 1, pdata::child_key_range(n, c, parent.keys()),
			                         parent.device);
			add_path(k, parent.paths);
			if (!k.leaf)
				children_.push_back(k.value);
		}
		if (parent.height > 1) {
			nodes_[p].first = first;
			nodes_[p].nr_children = static_cast<uint16_t>(n.nr_entries());
		}
	});
}

void internal_forest::read_bottom_nodes(const std::function<void(size_t, const pdata::node_view&)>& visit) const
{
	std::vector<uint32_t> order = by_block(nodes_, [](const node& x) { return x.height == 1; });
	std::vector<block_address> blocks(order.size());
	for (size_t i = 0; i < order.size(); ++i)
		blocks[i] = nodes_[order[i]].block;
	read_sorted(dev_, blocks, [&](size_t i, const uint8_t* data) {
		const node& x = nodes_[order[i]];
		// Read again: checked again, in case the image changed meanwhile.
		std::string fault = check_mapping_node(data, x.block, 1, x.keys());
		if (!fault.empty())
			damaged(x.device, x.block, x.keys(), fault);
		visit(order[i], pdata::node_view(data));
	});
}

std::vector<std::pair<block_address, block_address>> internal_forest::leaf_windows(
    const std::function<bool(block_address)>& want, size_t min_window) const
{
	auto wanted = [&](block_address b) { return leaf_paths(b) && (!want || want(b)); };
	size_t nr_wanted = 0;
	for (block_address b = 0; b < dev_.nr_blocks(); ++b)
		nr_wanted += wanted(b);
	size_t per_window = std::max({min_window, (nr_wanted + max_windows - 1) / max_windows, size_t(1)});

	std::vector<std::pair<block_address, block_address>> windows;
	block_address first = 0;
	size_t in_window = 0;
	for (block_address b = 0; b < dev_.nr_blocks(); ++b)
		if (wanted(b) && ++in_window == per_window) {
			windows.emplace_back(first, b + 1);
			first = b + 1;
			in_window = 0;
		}
	if (in_window)
		windows.emplace_back(first, dev_.nr_blocks());
	return windows;
}

void internal_forest::read_leaves(const std::function<bool(block_address)>& want,
                                  const std::function<void(const leaf&, const pdata::node_view&)>& visit,
                                  leaf_order order, size_t min_window) const
{
	pod_vector<uint64_t> taken((dev_.nr_blocks() + 63) / 64);  // a bit a block: leaves met already
	std::vector<leaf_to_read> chosen;
	io::read_ahead_buffers buffers;
	auto read_chosen = [&] {
		std::sort(chosen.begin(), chosen.end(), [](const leaf_to_read& a, const leaf_to_read& b) {
			return a.block < b.block;
		});
		for (size_t first = 0; first < chosen.size(); first += forest_slice_blocks) {
			auto slice = std::span(chosen).subspan(first, std::min(forest_slice_blocks, chosen.size() - first));
			read_mapping_leaves(dev_, devices_, slice, buffers, [&](const leaf_to_read& l, const pdata::node_view& n) {
				visit({l.block, l.device, l.shared}, n);
			});
		}
		chosen.clear();
	};
	// Chooses the leaves in blocks [lo, hi) met for the first time, each
	// with its first parent's keys and device; read_chosen() once
	// `read_at` are chosen.
	auto choose = [&](block_address lo, block_address hi, size_t read_at) {
		auto take = [&](uint32_t b, const pdata::key_range& keys, uint32_t device) {
			uint64_t bit = uint64_t(1) << (b & 63);
			if (b < lo || b >= hi || (taken[b >> 6] & bit))
				return;
			taken[b >> 6] |= bit;
			if (want && !want(b))
				return;
			chosen.emplace_back(b, keys, device, leaf_paths(b) > 1);
			if (chosen.size() == read_at)
				read_chosen();
		};
		for (uint32_t d = 0; d < roots_.size(); ++d)
			if (roots_[d].leaf)
				take(roots_[d].value, {}, d);
		read_bottom_nodes([&](size_t p, const pdata::node_view& n) {
			const node& x = nodes_[p];
			for (uint32_t c = 0; c < n.nr_entries(); ++c)
				take(static_cast<uint32_t>(n.child(c)), pdata::child_key_range(n, c, x.keys()), x.device);
		});
		read_chosen();
	};

	if (order == leaf_order::parents)
		choose(0, dev_.nr_blocks(), forest_slice_blocks);
	else
		for (auto [lo, hi] : leaf_windows(want, min_window))
			choose(lo, hi, SIZE_MAX);
}

}
