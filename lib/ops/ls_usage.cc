#include "ops/ls_usage.h"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "base/error.h"
#include "base/pod_vector.h"
#include "base/text.h"
#include "pdata/btree_walk.h"
#include "pdata/ref_count_batch.h"
#include "pdata/ref_count_lookup.h"
#include "pdata/use_tally.h"
#include "thin/block_time.h"
#include "thin/internal_forest.h"
#include "thin/mapping_leaf_reader.h"

namespace thinmeta::ops {

namespace {

// The uses of each data block, counted as far as "more than once", from
// each distinct leaf in whatever order the forest hands them out; then
// which of an unshared leaf's blocks are used once.
class data_block_uses {
public:
	data_block_uses(const io::block_device& dev, std::span<const thin::thin_device> devices, uint64_t nr_data_blocks)
	    : dev_(dev), devices_(devices), uses_(nr_data_blocks), increments_(std::in_place, uses_)
	{
	}

	// One use per entry of an unshared leaf, two per entry of a shared leaf
	// (reached by several devices, so its blocks are shared whatever else
	// maps them). Returns the leaf's entries: at most 254 (a 4 KiB node of
	// 16-byte entries).
	uint8_t add_leaf(block_address block, uint32_t device, bool shared, const pdata::node_view& n)
	{
		uint32_t nr = n.nr_entries();
		any_unshared_ |= !shared;
		for (uint32_t e = 0; e < nr; ++e) {
			uint64_t data = thin::block_time::unpack(n.value64(e)).block;
			if (data >= uses_.size())
				throw error(cat(dev_.path(), ": mapping tree of device ", devices_[device].id, ": leaf ", block,
				                " maps virtual block ", n.key(e), " to data block ", data,
				                ", past the end of the data device (", uses_.size(), " blocks)"));
			increments_->inc(data);
			if (shared)
				increments_->inc(data);
		}
		return static_cast<uint8_t>(nr);
	}
	// Every leaf is added: the uses are counted (and the buffers freed).
	void all_added()
	{
		increments_->apply_all();
		increments_.reset();
	}
	bool any_unshared() const { return any_unshared_; }

	// Adds to usage[device].exclusive the blocks that ask(lookup) asks
	// about (lookup.ask(block, device)) and that are used once. Devices
	// are told apart in 16 bits when there are few enough, which halves
	// the questions' buffers.
	template <typename Ask>
	void count_exclusive(std::vector<device_usage>& usage, Ask ask) const
	{
		auto answer = [&usage](uint32_t count, uint64_t device) { usage[device].exclusive += count == 1; };
		auto run = [&]<typename Question>(Question) {
			pdata::ref_count_lookup<pdata::use_tally, decltype(answer), Question> lookup(uses_, answer);
			ask(lookup);
			lookup.answer_all();
		};
		if (usage.size() <= uint64_t(1) << 16)
			run(uint32_t{});
		else
			run(uint64_t{});
	}

private:
	const io::block_device& dev_;
	std::span<const thin::thin_device> devices_;
	pdata::use_tally uses_;
	std::optional<pdata::increment_batch<pdata::use_tally>> increments_;
	bool any_unshared_ = false;
};

template <typename Lookup>
void ask_each_block(Lookup& lookup, uint32_t device, const pdata::node_view& n)
{
	for (uint32_t e = 0; e < n.nr_entries(); ++e)
		lookup.ask(thin::block_time::unpack(n.value64(e)).block, device);
}

// Each device's highest mapped block: the last key of the last leaf holding
// its mappings (last_leaf, by device; none when it maps nothing). Those few
// leaves are read again, each once, checked against their parent's keys.
void set_highest(const io::block_device& dev, std::span<const thin::thin_device> devices,
                 std::vector<device_usage>& usage, const std::vector<std::optional<thin::leaf_to_read>>& last_leaf)
{
	std::vector<thin::leaf_to_read> leaves;
	for (const auto& l : last_leaf)
		if (l)
			leaves.push_back(*l);
	auto by_block = [](const thin::leaf_to_read& a, const thin::leaf_to_read& b) { return a.block < b.block; };
	auto same_block = [](const thin::leaf_to_read& a, const thin::leaf_to_read& b) { return a.block == b.block; };
	std::sort(leaves.begin(), leaves.end(), by_block);
	leaves.erase(std::unique(leaves.begin(), leaves.end(), same_block), leaves.end());

	std::unordered_map<block_address, uint64_t> last_key;  // by block
	io::read_ahead_buffers buffers;
	thin::read_mapping_leaves(dev, devices, leaves, buffers, [&](const thin::leaf_to_read& l, const pdata::node_view& n) {
		last_key[l.block] = n.key(n.nr_entries() - 1);
	});
	for (size_t d = 0; d < usage.size(); ++d)
		if (last_leaf[d])
			usage[d].highest = last_key[last_leaf[d]->block];
}

// The mappings below each internal node, and the last leaf below a node of
// height 1 that holds any, from the entries of each leaf (by block).
struct mappings_below {
	std::vector<uint64_t> count;  // by node
	// By node of height 1: its last child holding mappings, with the keys
	// the node gives it; none if no child holds any.
	std::vector<std::optional<thin::leaf_to_read>> last_leaf;

	mappings_below(const thin::internal_forest& forest, const pod_vector<uint8_t>& entries)
	    : count(forest.nr_nodes()), last_leaf(forest.nr_nodes())
	{
		forest.read_bottom_nodes([&](size_t p, const pdata::node_view& n) {
			std::optional<uint32_t> last;
			for (uint32_t c = 0; c < n.nr_entries(); ++c) {
				count[p] += entries[n.child(c)];
				if (entries[n.child(c)])
					last = c;
			}
			if (last) {
				const thin::internal_forest::node& x = forest.node_at(p);
				block_address b = n.child(*last);
				last_leaf[p].emplace(static_cast<uint32_t>(b), pdata::child_key_range(n, *last, x.keys()), x.device,
				                     forest.leaf_paths(b) > 1);
			}
		});
		// A node's children are one height lower: sum from the bottom up.
		for (uint32_t height = 2;; ++height) {
			bool any = false;
			for (size_t i = 0; i < forest.nr_nodes(); ++i)
				if (forest.node_at(i).height == height) {
					any = true;
					for (uint32_t c : forest.children(i))
						count[i] += count[c];
				}
			if (!any)
				break;
		}
	}

	// The last leaf holding mappings below node i, or none.
	std::optional<thin::leaf_to_read> last_below(const thin::internal_forest& forest, uint32_t i) const
	{
		if (!count[i])
			return std::nullopt;
		while (forest.node_at(i).height > 1) {
			auto below = forest.children(i);
			i = *std::find_if(below.rbegin(), below.rend(), [&](uint32_t c) { return count[c] > 0; });
		}
		return last_leaf[i];
	}
};

}

std::vector<device_usage> count_device_usage(const io::block_device& dev, std::span<const thin::thin_device> devices,
                                             uint64_t nr_data_blocks)
{
	// Copies from the page cache cost the same in any order, and the
	// parents' order reads the nodes of height 1 once a pass. Reads that
	// wait for the disk cost seeks, and the parents' order scatters them
	// (sim-4g.bin on a loop device: 28 s, against 11 s in block order,
	// which reads the nodes of height 1 again for each window of leaves).
	using order = thin::internal_forest::leaf_order;
	order leaves = dev.policy().reads_wait ? order::blocks : order::parents;
	thin::internal_forest forest(dev, devices);
	using leaf = thin::internal_forest::leaf;
	// Nothing is kept per leaf but its number of entries, a byte a metadata
	// block; the nodes of height 1 are read again to sum them per device.
	pod_vector<uint8_t> entries(dev.nr_blocks());  // of the leaf at each block
	std::vector<device_usage> usage(devices.size());

	data_block_uses uses(dev, devices, nr_data_blocks);
	forest.read_leaves({}, [&](const leaf& l, const pdata::node_view& n) {
		entries[l.block] = uses.add_leaf(l.block, l.device, l.shared, n);
	}, leaves);
	uses.all_added();
	if (uses.any_unshared()) {
		uses.count_exclusive(usage, [&](auto& lookup) {
			forest.read_leaves([&](block_address b) { return forest.leaf_paths(b) == 1 && entries[b]; },
			                   [&](const leaf& l, const pdata::node_view& n) { ask_each_block(lookup, l.device, n); },
			                   leaves);
		});
	}

	mappings_below below(forest, entries);
	std::vector<std::optional<thin::leaf_to_read>> last_leaf(devices.size());  // by device
	for (uint32_t d = 0; d < devices.size(); ++d) {
		auto root = forest.root_of(d);
		if (root.leaf) {
			usage[d].mapped = entries[root.value];
			if (entries[root.value])
				last_leaf[d].emplace(root.value, pdata::key_range{}, d, forest.leaf_paths(root.value) > 1);
		} else {
			usage[d].mapped = below.count[root.value];
			last_leaf[d] = below.last_below(forest, root.value);
		}
	}
	set_highest(dev, devices, usage, last_leaf);
	return usage;
}

}
