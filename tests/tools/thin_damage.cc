// thin_damage: a test tool (built for the tests, never installed) that plants
// one chosen kind of damage in a thin-pool metadata image, in place:
//
//   thin_damage --kind KIND [--device N] [--seed S] [--count N] IMAGE
//   thin_damage --list
//
// It finds the structures through the library's read side (superblock, tree
// walks, space-map layout), picks one with the seed, damages it and prints
// one line naming what it damaged and where, in the checker's words:
//
//   mapping tree of thin device 3, block 129: leaf (virtual blocks [0, 512)): byte 1234 changed, checksum left broken
//
// "Physical" damage (a damaged node or bitmap, bit flips, zeroed blocks)
// leaves checksums broken; "semantic" damage (keys out of order, a cycle, a
// count raised or lowered, a mapping past the data device, superblock
// fields) reseals the block so that only the meaning is wrong.

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "base/endian.h"
#include "base/error.h"
#include "base/text.h"
#include "cli/options.h"
#include "cli/tool_main.h"
#include "io/aligned_buffer.h"
#include "io/block_device.h"
#include "pdata/block_checksum.h"
#include "pdata/btree_node.h"
#include "pdata/btree_walk.h"
#include "pdata/space_map_disk.h"
#include "thin/block_time.h"
#include "thin/device_details.h"
#include "thin/metadata_reader.h"
#include "thin/superblock.h"

using namespace thinmeta;

namespace {

// Superblock field offsets (spec section 2).
constexpr size_t sb_magic = 32;
constexpr size_t sb_data_sm = 64;
constexpr size_t sb_metadata_sm = 192;
constexpr size_t sm_nr_blocks = 0;
constexpr size_t sb_mapping_root = 320;
constexpr size_t sb_details_root = 328;
constexpr size_t sb_data_block_size = 336;

// One node of a tree, as a walk from its root found it.
struct tree_node {
	block_address block = 0;
	bool leaf = false;
	pdata::key_range keys;
};

// The nodes of a tree in key order (parents before their children).
class node_collector final : public pdata::btree_visitor {
public:
	explicit node_collector(std::string name) : name_(std::move(name)) {}
	bool visit(block_address where, const pdata::node_view& n, const pdata::key_range& keys) override
	{
		nodes.push_back({where, n.is_leaf(), keys});
		return true;
	}
	void damaged(block_address where, const pdata::key_range& keys, const std::string& what) override
	{
		throw error(cat(name_, ", block ", where, " (keys ", keys.describe(),
		                ") is already damaged: ", what, "; thin_damage needs sound metadata"));
	}
	std::vector<tree_node> nodes;

private:
	std::string name_;
};

std::vector<tree_node> walk_tree(const io::block_device& dev, block_address root, uint32_t value_size,
                                 const std::string& name)
{
	node_collector c(name);
	pdata::btree_walker(dev, value_size).walk(root, c);
	return c.nodes;
}

std::string describe_node(const tree_node& n, const char* keys_are)
{
	return cat(n.leaf ? "leaf" : "internal node", " (", keys_are, " ", n.keys.describe(), ")");
}

// Everything thin_damage may aim at, found from the live superblock.
struct pool_layout {
	thin::superblock sb;
	std::vector<tree_node> details;
	std::vector<tree_node> top;
	std::map<uint64_t, block_address> roots;  // device id -> bottom-level root
	std::map<uint64_t, std::vector<tree_node>> bottom;
	std::vector<tree_node> data_index;
	std::vector<tree_node> data_ref_counts;
	std::vector<tree_node> metadata_ref_counts;
	std::vector<block_address> data_bitmaps;      // by bitmap number
	std::vector<block_address> metadata_bitmaps;  // by bitmap number

	// Every block the live metadata uses, ascending.
	std::vector<block_address> used_blocks() const
	{
		std::set<block_address> s{thin::superblock_location, sb.metadata_sm.bitmap_root};
		auto add = [&](const std::vector<tree_node>& nodes) {
			for (auto& n : nodes)
				s.insert(n.block);
		};
		add(details);
		add(top);
		for (auto& [id, nodes] : bottom)
			add(nodes);
		add(data_index);
		add(data_ref_counts);
		add(metadata_ref_counts);
		s.insert(data_bitmaps.begin(), data_bitmaps.end());
		s.insert(metadata_bitmaps.begin(), metadata_bitmaps.end());
		return {s.begin(), s.end()};
	}
	// The devices whose bottom-level trees include `block`.
	std::vector<uint64_t> owners_of(block_address block) const
	{
		std::vector<uint64_t> out;
		for (auto& [id, nodes] : bottom)
			if (std::any_of(nodes.begin(), nodes.end(), [&](auto& n) { return n.block == block; }))
				out.push_back(id);
		return out;
	}
};

pool_layout read_layout(const io::block_device& dev)
{
	pool_layout p;
	p.sb = thin::read_superblock(dev, thin::superblock_location);
	p.details = walk_tree(dev, p.sb.device_details_root, thin::device_details_size, "device details tree");
	p.top = walk_tree(dev, p.sb.data_mapping_root, thin::mapping_value_size, "mapping tree (top level)");

	io::aligned_buffer buf(1);
	for (auto& n : p.top) {
		if (!n.leaf)
			continue;
		dev.read_block(n.block, buf.data());
		pdata::node_view v(buf.data());
		for (uint32_t i = 0; i < v.nr_entries(); ++i)
			p.roots[v.key(i)] = v.value64(i);
	}
	for (auto& [id, root] : p.roots)
		p.bottom[id] = walk_tree(dev, root, thin::mapping_value_size, cat("mapping tree of thin device ", id));

	p.data_index = walk_tree(dev, p.sb.data_sm.bitmap_root, pdata::index_entry_size, "data space map index");
	for (auto& n : p.data_index) {
		if (!n.leaf)
			continue;
		dev.read_block(n.block, buf.data());
		pdata::node_view v(buf.data());
		for (uint32_t i = 0; i < v.nr_entries(); ++i)
			p.data_bitmaps.push_back(pdata::index_entry::decode(v.value(i)).blocknr);
	}
	p.data_ref_counts = walk_tree(dev, p.sb.data_sm.ref_count_root, pdata::ref_count_value_size,
	                              "data space map ref-count tree");
	p.metadata_ref_counts = walk_tree(dev, p.sb.metadata_sm.ref_count_root, pdata::ref_count_value_size,
	                                  "metadata space map ref-count tree");

	dev.read_block(p.sb.metadata_sm.bitmap_root, buf.data());
	std::string fault = pdata::check_index_block(buf.data(), p.sb.metadata_sm.bitmap_root);
	if (!fault.empty())
		throw error(cat("metadata space map index block ", p.sb.metadata_sm.bitmap_root,
		                " is already damaged: ", fault));
	for (uint64_t i = 0; i < pdata::nr_bitmaps_for(p.sb.metadata_sm.nr_blocks); ++i)
		p.metadata_bitmaps.push_back(
		    pdata::index_entry::decode(buf.data() + pdata::metadata_index_entry_offset(static_cast<uint32_t>(i)))
		        .blocknr);
	return p;
}

struct damage_request {
	std::string kind;
	std::optional<uint64_t> device;
	uint64_t seed = 0;
	std::optional<uint64_t> count;
};

class damager {
public:
	damager(io::block_device& dev, const damage_request& req)
	    : dev_(dev), req_(req), rng_(req.seed), layout_(read_layout(dev)), buf_(1)
	{
	}

	// Plants the damage --kind names; returns the line to print.
	std::string run();

	// One per kind of damage (see kinds below), each returning its line.
	std::string superblock_checksum();
	std::string superblock_magic();
	std::string superblock_field();
	std::string device_node_damage(bool leaves);
	std::string device_root();
	std::string tree_node_damage(std::vector<tree_node> pool_layout::*tree, bool leaves);
	std::string bitmap(bool data);
	std::string metadata_index();
	std::string count_change(bool data, bool raise);
	std::string mapping_past_end();
	std::string keys_out_of_order();
	std::string cycle();
	std::string bit_flips();
	std::string zeroed_range();

private:
	template <typename T>
	const T& pick(const std::vector<T>& v, const std::string& what)
	{
		if (v.empty())
			throw error(cat("this metadata has no ", what, " to damage"));
		return v[rng_() % v.size()];
	}
	uint64_t pick_below(uint64_t n) { return rng_() % n; }

	uint8_t* read(block_address b)
	{
		dev_.read_block(b, buf_.data());
		return buf_.data();
	}
	void write(block_address b) { dev_.write_block(b, buf_.data()); }
	void write_sealed(block_address b, pdata::block_kind kind)
	{
		pdata::seal_block(buf_.data(), kind);
		write(b);
	}
	// Changes one byte past the header of block b and leaves its checksum
	// stale; returns what was done.
	std::string break_checksum(block_address b)
	{
		uint8_t* d = read(b);
		size_t off = 32 + pick_below(block_size - 32);
		d[off] ^= static_cast<uint8_t>(1 + pick_below(255));
		write(b);
		return cat("byte ", off, " changed, checksum left broken");
	}

	uint64_t chosen_device(const std::function<bool(uint64_t)>& suitable, const std::string& what);
	std::vector<tree_node> device_nodes(uint64_t id, bool leaves) const;
	std::string tree_name(uint64_t id, block_address b) const;


	io::block_device& dev_;
	const damage_request& req_;
	std::mt19937_64 rng_;
	pool_layout layout_;
	io::aligned_buffer buf_;
};

uint64_t damager::chosen_device(const std::function<bool(uint64_t)>& suitable, const std::string& what)
{
	if (req_.device) {
		if (!layout_.roots.count(*req_.device))
			throw error(cat("there is no thin device ", *req_.device));
		if (!suitable(*req_.device))
			throw error(cat("thin device ", *req_.device, " has no ", what.substr(what.find(' ') + 1)));
		return *req_.device;
	}
	std::vector<uint64_t> ids;
	for (auto& [id, root] : layout_.roots)
		if (suitable(id))
			ids.push_back(id);
	return pick(ids, cat("thin device with ", what));
}

std::vector<tree_node> damager::device_nodes(uint64_t id, bool leaves) const
{
	std::vector<tree_node> out;
	for (auto& n : layout_.bottom.at(id))
		if (n.leaf == leaves)
			out.push_back(n);
	return out;
}

std::string damager::tree_name(uint64_t id, block_address b) const
{
	std::string name = cat("mapping tree of thin device ", id);
	auto owners = layout_.owners_of(b);
	if (owners.size() > 1) {
		name += " (block shared by devices";
		for (size_t i = 0; i < owners.size(); ++i)
			name += cat(i ? ", " : " ", owners[i]);
		name += ")";
	}
	return name;
}

std::string damager::superblock_field()
{
	const auto& sb = layout_.sb;
	uint8_t* d = read(thin::superblock_location);
	std::string what;
	switch (req_.seed % 4) {
	case 0: {
		// A mapping root that is a node, but of the wrong tree.
		store_le64(d + sb_mapping_root, sb.device_details_root);
		what = cat("data_mapping_root set to ", sb.device_details_root, " (the device details tree) from ",
		           sb.data_mapping_root);
		break;
	}
	case 1: {
		block_address to = layout_.data_bitmaps.empty() ? sb.metadata_sm.bitmap_root : layout_.data_bitmaps[0];
		store_le64(d + sb_details_root, to);
		what = cat("device_details_root set to ", to, " (a space map block) from ", sb.device_details_root);
		break;
	}
	case 2:
		store_le32(d + sb_data_block_size, 100);
		what = cat("data_block_size set to 100 sectors from ", sb.data_block_size);
		break;
	default: {
		uint64_t too_many = dev_.nr_blocks() + 1000;
		store_le64(d + sb_metadata_sm + sm_nr_blocks, too_many);
		what = cat("metadata space map nr_blocks set to ", too_many, " from ", sb.metadata_sm.nr_blocks);
		break;
	}
	}
	write_sealed(thin::superblock_location, pdata::block_kind::superblock);
	return cat("superblock, block 0: ", what, " (resealed)");
}

std::string damager::tree_node_damage(std::vector<tree_node> pool_layout::*tree, bool leaves)
{
	struct naming {
		std::vector<tree_node> pool_layout::*tree;
		const char* name;
		const char* keys_are;
	};
	static const naming names[] = {
	    {&pool_layout::details, "device details tree", "device ids"},
	    {&pool_layout::top, "mapping tree (top level)", "device ids"},
	    {&pool_layout::data_index, "data space map index", "bitmaps"},
	    {&pool_layout::data_ref_counts, "data space map ref-count tree", "data blocks"},
	    {&pool_layout::metadata_ref_counts, "metadata space map ref-count tree", "metadata blocks"},
	};
	const naming& t = *std::find_if(std::begin(names), std::end(names), [&](auto& n) { return n.tree == tree; });
	std::vector<tree_node> wanted;
	for (auto& n : layout_.*tree)
		if (n.leaf == leaves)
			wanted.push_back(n);
	const tree_node& n = pick(wanted, cat(leaves ? "leaf" : "internal node", " in the ", t.name));
	return cat(t.name, ", block ", n.block, ": ", describe_node(n, t.keys_are), ": ", break_checksum(n.block));
}

std::string damager::device_node_damage(bool leaves)
{
	const char* what = leaves ? "a mapping leaf" : "an internal mapping node";
	uint64_t id = chosen_device([&](uint64_t d) { return !device_nodes(d, leaves).empty(); }, what);
	auto nodes = device_nodes(id, leaves);
	const tree_node& n = pick(nodes, what);
	return cat(tree_name(id, n.block), ", block ", n.block, ": ", describe_node(n, "virtual blocks"), ": ",
	           break_checksum(n.block));
}

std::string damager::device_root()
{
	uint64_t id = chosen_device([](uint64_t) { return true; }, "a mapping tree");
	const tree_node& n = layout_.bottom.at(id).front();
	return cat(tree_name(id, n.block), ", block ", n.block, ": the root, ", describe_node(n, "virtual blocks"), ": ",
	           break_checksum(n.block));
}

std::string damager::count_change(bool data, bool raise)
{
	// Candidates: blocks whose stored count is 1, in bitmap order.
	const auto& bitmaps = data ? layout_.data_bitmaps : layout_.metadata_bitmaps;
	uint64_t nr = data ? layout_.sb.data_sm.nr_blocks : layout_.sb.metadata_sm.nr_blocks;
	std::vector<std::pair<uint64_t, block_address>> ones;  // block, its bitmap
	for (size_t i = 0; i < bitmaps.size(); ++i) {
		uint8_t* d = read(bitmaps[i]);
		for (uint32_t e = 0; e < pdata::entries_per_bitmap; ++e) {
			uint64_t b = i * uint64_t(pdata::entries_per_bitmap) + e;
			if (b >= nr)
				break;
			if (b != thin::superblock_location && pdata::bitmap_entry(d, e) == 1)
				ones.emplace_back(b, bitmaps[i]);
		}
	}
	auto [b, bitmap] = pick(ones, cat(data ? "data" : "metadata", " block with a reference count of 1"));
	uint8_t* d = read(bitmap);
	uint32_t e = static_cast<uint32_t>(b % pdata::entries_per_bitmap);
	unsigned to = raise ? 2 : 0;
	pdata::set_bitmap_entry(d, e, to);
	write_sealed(bitmap, pdata::block_kind::bitmap);
	return cat(data ? "data" : "metadata", " space map bitmap ", b / pdata::entries_per_bitmap, ", block ", bitmap,
	           ": the reference count of ", data ? "data" : "metadata", " block ", b, " ",
	           raise ? "raised" : "lowered", " from 1 to ", to, " (resealed)");
}

std::string damager::mapping_past_end()
{
	auto leaves_of = [&](uint64_t d) {
		std::vector<tree_node> out;
		for (auto& n : device_nodes(d, true))
			if (pdata::node_view(read(n.block)).nr_entries())
				out.push_back(n);
		return out;
	};
	uint64_t id = chosen_device([&](uint64_t d) { return !leaves_of(d).empty(); }, "mappings");
	auto leaves = leaves_of(id);
	const tree_node& n = pick(leaves, "mapping leaf with entries");
	uint8_t* d = read(n.block);
	pdata::node_mut m(d);
	uint32_t i = static_cast<uint32_t>(pick_below(m.nr_entries()));
	auto bt = thin::block_time::unpack(m.value64(i));
	uint64_t past = layout_.sb.data_sm.nr_blocks + pick_below(1000);
	m.set_value64(i, thin::block_time{past, bt.time}.pack());
	write_sealed(n.block, pdata::block_kind::btree_node);
	return cat(tree_name(id, n.block), ", block ", n.block, ": the mapping of virtual block ", m.key(i),
	           " moved from data block ", bt.block, " to ", past, ", past the end of the data device (",
	           layout_.sb.data_sm.nr_blocks, " blocks) (resealed)");
}

std::string damager::keys_out_of_order()
{
	auto leaves_of = [&](uint64_t d) {
		std::vector<tree_node> out;
		for (auto& n : device_nodes(d, true))
			if (pdata::node_view(read(n.block)).nr_entries() >= 2)
				out.push_back(n);
		return out;
	};
	uint64_t id = chosen_device([&](uint64_t d) { return !leaves_of(d).empty(); }, "a leaf of two or more mappings");
	auto leaves = leaves_of(id);
	const tree_node& n = pick(leaves, "leaf of two or more mappings");
	uint8_t* d = read(n.block);
	pdata::node_mut m(d);
	uint32_t i = static_cast<uint32_t>(pick_below(m.nr_entries() - 1));
	uint64_t a = m.key(i), b = m.key(i + 1);
	m.set_key(i, b);
	m.set_key(i + 1, a);
	write_sealed(n.block, pdata::block_kind::btree_node);
	return cat(tree_name(id, n.block), ", block ", n.block, ": keys ", a, " and ", b, " at index ", i,
	           " swapped, out of order (resealed)");
}

std::string damager::cycle()
{
	uint64_t id = chosen_device([&](uint64_t d) { return !device_nodes(d, false).empty(); }, "an internal mapping node");
	auto internal = device_nodes(id, false);
	const tree_node& n = pick(internal, "internal mapping node");
	block_address root = layout_.roots.at(id);
	uint8_t* d = read(n.block);
	pdata::node_mut m(d);
	uint32_t i = static_cast<uint32_t>(pick_below(m.nr_entries()));
	block_address old = m.child(i);
	m.set_value64(i, root);
	write_sealed(n.block, pdata::block_kind::btree_node);
	return cat(tree_name(id, n.block), ", block ", n.block, ": child ", i, " (block ", old, ") now points to block ",
	           root, ", the tree's root: a cycle (resealed)");
}

std::string damager::bit_flips()
{
	auto used = layout_.used_blocks();
	uint64_t count = req_.count.value_or(8);
	// Distinct bits: a bit flipped twice would undo itself.
	std::map<block_address, std::set<uint32_t>> flips;
	for (uint64_t k = 0; k < count;) {
		block_address b = pick(used, "block in use");
		if (flips[b].insert(static_cast<uint32_t>(pick_below(block_size * 8))).second)
			++k;
	}
	std::string blocks;
	for (auto& [b, bits] : flips) {
		uint8_t* d = read(b);
		for (uint32_t bit : bits)
			d[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
		write(b);
		blocks += cat(blocks.empty() ? "" : ", ", b);
	}
	return cat("blocks ", blocks, ": ", count, count == 1 ? " bit" : " bits", " flipped in blocks in use");
}

std::string damager::zeroed_range()
{
	auto used = layout_.used_blocks();
	uint64_t count = req_.count.value_or(4);
	block_address first = pick(used, "block in use");
	uint64_t end = std::min(first + count, dev_.nr_blocks());
	std::fill_n(buf_.data(), block_size, 0);
	std::string blocks;
	for (block_address b = first; b < end; ++b) {
		write(b);
		blocks += cat(blocks.empty() ? "" : ", ", b);
	}
	return cat("blocks ", blocks, ": zeroed");
}

std::string damager::superblock_checksum()
{
	return cat("superblock, block 0: ", break_checksum(thin::superblock_location));
}

std::string damager::superblock_magic()
{
	uint8_t* d = read(thin::superblock_location);
	store_le64(d + sb_magic, thin::superblock_magic ^ (1 + pick_below(0xFFFF)));
	uint64_t magic = load_le64(d + sb_magic);
	write_sealed(thin::superblock_location, pdata::block_kind::superblock);
	return cat("superblock, block 0: magic set to ", magic, " (resealed)");
}

std::string damager::bitmap(bool data)
{
	const auto& bitmaps = data ? layout_.data_bitmaps : layout_.metadata_bitmaps;
	if (bitmaps.empty())
		throw error("this metadata has no bitmap of that kind");
	size_t i = pick_below(bitmaps.size());
	return cat(data ? "data" : "metadata", " space map bitmap ", i, ", block ", bitmaps[i], ": ",
	           break_checksum(bitmaps[i]));
}

std::string damager::metadata_index()
{
	block_address b = layout_.sb.metadata_sm.bitmap_root;
	return cat("metadata space map index block, block ", b, ": ", break_checksum(b));
}

// Each kind of damage: its name, what it does, and how.
struct damage_kind {
	const char* name;
	const char* what;
	std::string (*plant)(damager&);
};

constexpr damage_kind kinds[] = {
    {"superblock-checksum", "a byte of the superblock changed (physical)",
     [](damager& d) { return d.superblock_checksum(); }},
    {"superblock-magic", "the superblock's magic number changed (semantic)",
     [](damager& d) { return d.superblock_magic(); }},
    {"superblock-field",
     "by seed mod 4: mapping root, details root, data block size, metadata nr_blocks wrong (semantic)",
     [](damager& d) { return d.superblock_field(); }},
    {"mapping-leaf", "a leaf of a device's mapping tree (physical)",
     [](damager& d) { return d.device_node_damage(true); }},
    {"mapping-internal", "an internal node of a device's mapping tree (physical)",
     [](damager& d) { return d.device_node_damage(false); }},
    {"mapping-root", "the root of a device's mapping tree (physical)", [](damager& d) { return d.device_root(); }},
    {"top-leaf", "a leaf of the mapping tree's top level (physical)",
     [](damager& d) { return d.tree_node_damage(&pool_layout::top, true); }},
    {"top-internal", "an internal node of the mapping tree's top level (physical)",
     [](damager& d) { return d.tree_node_damage(&pool_layout::top, false); }},
    {"details-leaf", "a leaf of the device details tree (physical)",
     [](damager& d) { return d.tree_node_damage(&pool_layout::details, true); }},
    {"details-internal", "an internal node of the device details tree (physical)",
     [](damager& d) { return d.tree_node_damage(&pool_layout::details, false); }},
    {"data-ref-count-leaf", "a leaf of the data space map's ref-count tree (physical)",
     [](damager& d) { return d.tree_node_damage(&pool_layout::data_ref_counts, true); }},
    {"data-ref-count-internal", "an internal node of the data space map's ref-count tree (physical)",
     [](damager& d) { return d.tree_node_damage(&pool_layout::data_ref_counts, false); }},
    {"metadata-ref-count-leaf", "a leaf of the metadata space map's ref-count tree (physical)",
     [](damager& d) { return d.tree_node_damage(&pool_layout::metadata_ref_counts, true); }},
    {"data-index", "a leaf of the data space map's index tree (physical)",
     [](damager& d) { return d.tree_node_damage(&pool_layout::data_index, true); }},
    {"data-bitmap", "a data space map bitmap (physical)", [](damager& d) { return d.bitmap(true); }},
    {"metadata-bitmap", "a metadata space map bitmap (physical)", [](damager& d) { return d.bitmap(false); }},
    {"metadata-index", "the metadata space map's index block (physical)",
     [](damager& d) { return d.metadata_index(); }},
    {"data-count-raised", "a data block's reference count raised from 1 to 2 (semantic)",
     [](damager& d) { return d.count_change(true, true); }},
    {"data-count-lowered", "a data block's reference count lowered from 1 to 0 (semantic)",
     [](damager& d) { return d.count_change(true, false); }},
    {"metadata-count-raised", "a metadata block's reference count raised from 1 to 2 (semantic)",
     [](damager& d) { return d.count_change(false, true); }},
    {"metadata-count-lowered", "a metadata block's reference count lowered from 1 to 0 (semantic)",
     [](damager& d) { return d.count_change(false, false); }},
    {"mapping-past-end", "a mapping moved past the end of the data device (semantic)",
     [](damager& d) { return d.mapping_past_end(); }},
    {"keys-out-of-order", "two keys of a mapping leaf swapped (semantic)",
     [](damager& d) { return d.keys_out_of_order(); }},
    {"cycle", "an internal mapping node's child pointed at the tree's root (semantic)",
     [](damager& d) { return d.cycle(); }},
    {"bit-flips", "--count random bits (default 8) flipped in blocks in use (physical)",
     [](damager& d) { return d.bit_flips(); }},
    {"zeroed-range", "--count blocks (default 4) zeroed from a block in use (physical)",
     [](damager& d) { return d.zeroed_range(); }},
};

std::string damager::run()
{
	for (auto& k : kinds)
		if (req_.kind == k.name)
			return k.plant(*this);
	throw error(cat("unknown damage kind '", req_.kind, "' (--list shows them)"));
}

int damage_main(int argc, char** argv)
{
	cli::command_line cl("thin_damage", "--kind KIND [--device N] [--seed S] [--count N] IMAGE | --list");
	cl.add()("kind", cli::po::value<std::string>(), "what to damage (--list shows the kinds)")(
	    "device", cli::po::value<std::string>(), "the thin device whose tree to damage (default: chosen by the seed)")(
	    "seed", cli::po::value<std::string>(), "chooses the block, byte and entry (default 0)")(
	    "count", cli::po::value<std::string>(), "bits to flip or blocks to zero")("list", "list the damage kinds");
	cl.allow_positionals(1);
	if (!cl.parse(argc, argv))
		return cli::exit_ok;
	if (cl.has("list")) {
		for (auto& k : kinds)
			std::cout << k.name << "\t" << k.what << "\n";
		return cli::exit_ok;
	}
	if (!cl.has("kind"))
		throw error("give the damage kind with --kind (--list shows them)");

	damage_request req;
	req.kind = cl.get<std::string>("kind");
	if (cl.has("device"))
		req.device = cli::parse_number(cl.get<std::string>("device"), "--device");
	if (cl.has("seed"))
		req.seed = cli::parse_number(cl.get<std::string>("seed"), "--seed");
	if (cl.has("count"))
		req.count = cli::parse_number(cl.get<std::string>("count"), "--count");
	io::block_device dev = io::block_device::open(cl.single_input("a metadata image"), io::access::read_write);
	std::cout << damager(dev, req).run() << std::endl;
	dev.flush();
	return cli::exit_ok;
}

}

int main(int argc, char** argv)
{
	return cli::run_tool("thin_damage", argc, argv, damage_main);
}
