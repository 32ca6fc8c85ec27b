#include "ops/tree_salvage.h"

#include <algorithm>

#include "base/endian.h"
#include "base/text.h"
#include "ops/salvaging_visitor.h"
#include "pdata/btree_walk.h"
#include "thin/block_time.h"

namespace thinmeta::ops {

namespace {

// Collects a single-level tree's entries, noting damage instead of stopping.
template <typename Fn>
class entry_collector final : public pdata::btree_visitor {
public:
	entry_collector(std::string name, std::vector<std::string>& damage, Fn fn)
	    : name_(std::move(name)), damage_(damage), fn_(fn)
	{
	}
	bool visit(block_address, const pdata::node_view& n, const pdata::key_range&) override
	{
		if (n.is_leaf())
			for (uint32_t i = 0; i < n.nr_entries(); ++i)
				fn_(n.key(i), n.value(i));
		return true;
	}
	void damaged(block_address where, const pdata::key_range& keys, const std::string& what) override
	{
		complete = false;
		damage_.push_back(cat(name_, ", block ", where, " (device ids ", keys.describe(), "): ", what));
	}
	bool complete = true;

private:
	std::string name_;
	std::vector<std::string>& damage_;
	Fn fn_;
};

}

uint64_t salvaged_trees::total_mappings() const
{
	uint64_t n = 0;
	for (auto& d : devices)
		n += d.mappings;
	return n;
}

uint32_t salvaged_trees::newest_time() const
{
	uint32_t t = 0;
	for (auto& d : devices) {
		t = std::max(t, d.newest_time);
		if (d.details)
			t = std::max({t, d.details->creation_time, d.details->snapshotted_time});
	}
	return t;
}

uint64_t salvaged_trees::newest_transaction() const
{
	uint64_t t = 0;
	for (auto& d : devices)
		if (d.details)
			t = std::max(t, d.details->transaction_id);
	return t;
}

bool salvaged_trees::complete() const
{
	if (!details_complete || !mapping_complete)
		return false;
	for (auto& d : devices)
		if (!d.details || !d.root || !d.root_readable || !d.lost.empty())
			return false;
	return true;
}

namespace {
template <typename Value, typename Decode>
salvaged_entries<Value> salvage_tree(const io::block_device& dev, block_address root, uint32_t value_size,
                                     const char* name, Decode decode)
{
	salvaged_entries<Value> out;
	out.root = root;
	entry_collector walk(name, out.damage, [&](uint64_t k, const uint8_t* v) { out.entries.emplace_back(k, decode(v)); });
	pdata::btree_walker(dev, value_size).walk(root, walk);
	out.complete = walk.complete;
	return out;
}
}

salvaged_details salvage_details_tree(const io::block_device& dev, block_address root)
{
	return salvage_tree<thin::device_details>(dev, root, thin::device_details_size, "device details tree",
	                                          [](const uint8_t* v) { return thin::device_details::decode(v); });
}

salvaged_top_level salvage_top_level(const io::block_device& dev, block_address root)
{
	return salvage_tree<block_address>(dev, root, thin::mapping_value_size, "mapping tree (top level)",
	                                   [](const uint8_t* v) { return load_le64(v); });
}

salvaged_trees join_top_levels(const salvaged_details& details_tree, const salvaged_top_level& top)
{
	salvaged_trees t;
	t.details_root = details_tree.root;
	t.mapping_root = top.root;
	t.details_complete = details_tree.complete;
	t.mapping_complete = top.complete;
	t.damage = details_tree.damage;
	t.damage.insert(t.damage.end(), top.damage.begin(), top.damage.end());

	const auto& details = details_tree.entries;
	const auto& roots = top.entries;
	size_t d = 0, r = 0;
	while (d < details.size() || r < roots.size()) {
		salvaged_device s;
		if (r == roots.size() || (d < details.size() && details[d].first < roots[r].first)) {
			s.id = details[d].first;
			s.details = details[d++].second;
		} else if (d == details.size() || roots[r].first < details[d].first) {
			s.id = roots[r].first;
			s.root = roots[r++].second;
		} else {
			s.id = details[d].first;
			s.details = details[d++].second;
			s.root = roots[r++].second;
		}
		t.devices.push_back(s);
	}
	return t;
}

salvaged_trees salvage_top_levels(const io::block_device& dev, block_address details_root,
                                  block_address mapping_root)
{
	return join_top_levels(salvage_details_tree(dev, details_root), salvage_top_level(dev, mapping_root));
}

void salvage_device_mappings(pdata::btree_walker& walker, salvaged_device& d, uint64_t nr_data_blocks,
                             std::vector<std::string>& damage)
{
	d.mappings = 0;
	d.newest_time = 0;
	d.data_end = 0;
	d.root_readable = false;
	d.lost.clear();
	if (!d.root)
		return;
	salvaging_visitor v(nr_data_blocks, [&](const pdata::node_view& leaf, uint32_t begin, uint32_t end) {
		d.mappings += end - begin;
		for (uint32_t i = begin; i < end; ++i) {
			auto bt = thin::block_time::unpack(leaf.value64(i));
			d.newest_time = std::max(d.newest_time, bt.time);
			d.data_end = std::max(d.data_end, bt.block + 1);
		}
	});
	walker.walk(*d.root, v);
	d.root_readable = v.root_readable();
	d.lost = v.lost();
	for (auto& line : v.damage())
		damage.push_back(cat("thin device ", d.id, ": ", line));
}

void salvage_mappings(const io::block_device& dev, salvaged_trees& trees, uint64_t nr_data_blocks)
{
	pdata::btree_walker walker(dev, thin::mapping_value_size);
	for (auto& d : trees.devices)
		salvage_device_mappings(walker, d, nr_data_blocks, trees.damage);
}

}
