#include "ops/metadata_scan.h"

#include <algorithm>
#include <unordered_map>

#include "io/read_ahead.h"
#include "pdata/block_checksum.h"
#include "pdata/btree_node.h"
#include "pdata/node_check.h"
#include "pdata/space_map_disk.h"
#include "thin/block_time.h"
#include "thin/device_details.h"

namespace thinmeta::ops {

namespace {

constexpr size_t scan_batch = 256;
constexpr uint64_t max_device_id = (uint64_t(1) << 24) - 1;

enum node_class : uint8_t {
	not_a_node = 0,
	internal,
	mapping_leaf,  // 8-byte values: a bottom-level leaf, or a top-level one
	top_leaf,      // a mapping leaf whose values all point at mapping nodes
	details_leaf,
	other_leaf,
};

class scanner {
public:
	scanner(const io::block_device& dev)
	    : dev_(dev), nr_(std::min<uint64_t>(dev.nr_blocks(), pdata::max_metadata_blocks)), class_(nr_),
	      referenced_(nr_)
	{
	}

	metadata_scan_result run(progress_sink& progress);

private:
	void look_at(const uint8_t* block, block_address b, metadata_scan_result& out);
	// The class of the leaf reached by always taking the first child that
	// is a sound node (a damaged first child must not hide a tree's root).
	node_class leftmost_leaf_class(block_address b) const;

	const io::block_device& dev_;
	uint64_t nr_;
	std::vector<uint8_t> class_;
	std::vector<bool> referenced_;
	std::unordered_map<block_address, std::pair<size_t, uint32_t>> children_of_;
	std::vector<block_address> children_;
	// Mapping leaves whose keys could be device ids and whose values could
	// be block numbers: top-level leaves if their values are mapping nodes.
	std::vector<std::pair<block_address, std::pair<size_t, uint32_t>>> maybe_top_;
	std::vector<block_address> maybe_top_values_;
};

void scanner::look_at(const uint8_t* block, block_address b, metadata_scan_result& out)
{
	auto kind = pdata::identify_block(block);
	if (kind == pdata::block_kind::superblock) {
		if (thin::check_superblock(block, b).empty())
			out.superblocks.push_back({b, thin::superblock::decode(block)});
		return;
	}
	if (kind != pdata::block_kind::btree_node || !pdata::check_node_shape(block, b).empty())
		return;

	pdata::node_view n(block);
	++out.nr_nodes;
	uint32_t nr = n.nr_entries();
	if (n.is_internal()) {
		if (n.value_size() != pdata::internal_value_size || nr == 0)
			return;
		class_[b] = internal;
		children_of_[b] = {children_.size(), nr};
		for (uint32_t i = 0; i < nr; ++i) {
			block_address c = n.child(i);
			children_.push_back(c);
			if (c < nr_)
				referenced_[c] = true;
		}
		return;
	}
	switch (n.value_size()) {
	case thin::mapping_value_size: {
		class_[b] = mapping_leaf;
		bool pointers = true;
		for (uint32_t i = 0; i < nr && pointers; ++i)
			pointers = n.key(i) <= max_device_id && n.value64(i) < nr_ && n.value64(i) != b;
		if (pointers) {
			maybe_top_.push_back({b, {maybe_top_values_.size(), nr}});
			for (uint32_t i = 0; i < nr; ++i)
				maybe_top_values_.push_back(n.value64(i));
		}
		break;
	}
	case thin::device_details_size:
		class_[b] = details_leaf;
		break;
	default:
		class_[b] = other_leaf;
	}
}

node_class scanner::leftmost_leaf_class(block_address b) const
{
	for (int depth = 0; depth < 64 && b < nr_; ++depth) {
		if (class_[b] != internal)
			return static_cast<node_class>(class_[b]);
		auto [first, count] = children_of_.at(b);
		auto sound = std::find_if(children_.begin() + static_cast<ptrdiff_t>(first),
		                          children_.begin() + static_cast<ptrdiff_t>(first + count),
		                          [&](block_address c) { return c < nr_ && class_[c] != not_a_node; });
		if (sound == children_.begin() + static_cast<ptrdiff_t>(first + count))
			return not_a_node;
		b = *sound;
	}
	return not_a_node;
}

metadata_scan_result scanner::run(progress_sink& progress)
{
	metadata_scan_result out;
	std::vector<block_address> blocks(nr_);
	for (uint64_t b = 0; b < nr_; ++b)
		blocks[b] = b;
	std::vector<std::span<const block_address>> batches;
	for (uint64_t first = 0; first < nr_; first += scan_batch)
		batches.emplace_back(blocks.data() + first, std::min<uint64_t>(scan_batch, nr_ - first));

	io::read_ahead reader(dev_, batches);
	for (size_t k = 0; k < batches.size(); ++k) {
		const uint8_t* data = reader.next();
		for (size_t j = 0; j < batches[k].size(); ++j)
			look_at(data + j * block_size, batches[k][j], out);
		progress.update("scanning metadata", batches[k].back() + 1, nr_);
	}

	// A leaf of pointers is a top-level leaf when its pointers lead to
	// mapping nodes, or to blocks that are no sound node at all (a device
	// whose root was lost), but at least one to a mapping node; the
	// bottom-level roots it points to are then referenced.
	for (auto& [leaf, span] : maybe_top_) {
		auto [first, count] = span;
		auto begin = maybe_top_values_.begin() + static_cast<ptrdiff_t>(first);
		auto end = begin + static_cast<ptrdiff_t>(count);
		auto mapping_node = [&](block_address v) {
			return class_[v] == internal || class_[v] == mapping_leaf || class_[v] == top_leaf;
		};
		bool top = std::all_of(begin, end, [&](block_address v) { return mapping_node(v) || class_[v] == not_a_node; }) &&
		           (count == 0 || std::any_of(begin, end, mapping_node));
		if (!top)
			continue;
		class_[leaf] = top_leaf;
		for (uint32_t i = 0; i < count; ++i)
			referenced_[maybe_top_values_[first + i]] = true;
	}

	for (uint64_t b = 0; b < nr_; ++b) {
		if (class_[b] == not_a_node || referenced_[b])
			continue;
		node_class leaf = leftmost_leaf_class(b);
		if (leaf == details_leaf)
			out.details_roots.push_back(b);
		else if (leaf == top_leaf)
			out.mapping_roots.push_back(b);
	}
	return out;
}

}

metadata_scan_result scan_metadata(const io::block_device& dev, progress_sink& progress)
{
	return scanner(dev).run(progress);
}

}
