#include "ops/repair_plan.h"

#include <algorithm>
#include <map>

#include "base/error.h"
#include "base/text.h"
#include "io/aligned_buffer.h"
#include "ops/metadata_scan.h"
#include "pdata/btree_walk.h"
#include "pdata/space_map_disk.h"
#include "thin/block_time.h"
#include "thin/superblock.h"

namespace thinmeta::ops {

namespace {

using thin::superblock;

// Candidate pairs from a scan whose mappings are read in full; the rest are
// ranked on their top levels alone.
constexpr size_t fully_evaluated = 4;
constexpr uint64_t unknown_size = UINT64_MAX;

std::optional<superblock> try_superblock(const io::block_device& dev, block_address where)
{
	if (where >= dev.nr_blocks())
		return std::nullopt;
	io::aligned_buffer buf(1);
	dev.read_block(where, buf.data());
	if (!thin::check_superblock(buf.data(), where).empty())
		return std::nullopt;
	return superblock::decode(buf.data());
}

template <typename Value>
std::vector<uint64_t> ids_of(const salvaged_entries<Value>& t)
{
	std::vector<uint64_t> ids;
	for (auto& e : t.entries)
		ids.push_back(e.first);
	return ids;
}

// A reading of the pool whose two top-level trees read back whole and list
// the same devices: a transaction that was complete, even if some of its
// leaves were damaged since.
bool consistent(const salvaged_trees& t)
{
	if (!t.details_complete || !t.mapping_complete)
		return false;
	return std::all_of(t.devices.begin(), t.devices.end(),
	                   [](const salvaged_device& d) { return d.details && d.root; });
}

// The metadata blocks the superblock's metadata space map counts as in use,
// if it can be read; trees left behind by older transactions lie in blocks
// it counts as free.
std::optional<std::vector<bool>> blocks_in_use(const io::block_device& dev, const superblock& sb)
{
	const auto& sm = sb.metadata_sm;
	uint64_t nr = std::min(sm.nr_blocks, dev.nr_blocks());
	if (sm.bitmap_root >= dev.nr_blocks() || nr == 0)
		return std::nullopt;
	io::aligned_buffer index(1), bitmap(1);
	dev.read_block(sm.bitmap_root, index.data());
	if (!pdata::check_index_block(index.data(), sm.bitmap_root).empty())
		return std::nullopt;
	std::vector<bool> used(nr);
	for (uint64_t i = 0; i < pdata::nr_bitmaps_for(nr); ++i) {
		auto e = pdata::index_entry::decode(index.data() + pdata::metadata_index_entry_offset(static_cast<uint32_t>(i)));
		if (e.blocknr >= dev.nr_blocks())
			return std::nullopt;
		dev.read_block(e.blocknr, bitmap.data());
		if (!pdata::check_bitmap_block(bitmap.data(), e.blocknr).empty())
			return std::nullopt;
		uint64_t base = i * pdata::entries_per_bitmap;
		for (uint32_t k = 0; k < pdata::entries_per_bitmap && base + k < nr; ++k)
			used[base + k] = pdata::bitmap_entry(bitmap.data(), k) != 0;
	}
	return used;
}

class planner {
	// How many of a reading's two roots the space map counts as in use.
	int roots_in_use(const salvaged_trees& t) const
	{
		if (!in_use_)
			return 0;
		auto used = [&](block_address b) { return b < in_use_->size() && (*in_use_)[b]; };
		return used(t.details_root) + used(t.mapping_root);
	}

	// Which of two readings of the pool to prefer: a consistent one, then one
	// whose roots are in use, then the newest, then the one that yields more
	// mappings. An old transaction never wins over a newer one for being
	// emptier.
	bool better(const salvaged_trees& a, const salvaged_trees& b) const
	{
		auto key = [&](const salvaged_trees& t) {
			return std::make_tuple(consistent(t), roots_in_use(t), t.newest_time(), t.newest_transaction(),
			                       t.total_mappings(), t.devices.size());
		};
		return key(a) > key(b);
	}

	// Ranks pairs before their mappings are read: sound top levels, roots in
	// use, then the newest device times, then more devices.
	bool better_top_levels(const salvaged_trees& a, const salvaged_trees& b) const
	{
		auto key = [&](const salvaged_trees& t) {
			return std::make_tuple(consistent(t), roots_in_use(t), t.newest_time(), t.newest_transaction(),
			                       t.devices.size());
		};
		return key(a) > key(b);
	}

public:
	planner(const io::block_device& dev, const repair_overrides& overrides, progress_sink& progress)
	    : dev_(dev), overrides_(overrides), progress_(progress), walker_(dev, thin::mapping_value_size)
	{
	}

	repair_plan run();

private:
	salvaged_trees evaluate(block_address details_root, block_address mapping_root);
	std::vector<salvaged_trees> scan_candidates(const metadata_scan_result& scan);
	void fall_back_to_snapshot(salvaged_trees& best, const std::optional<superblock>& snap);
	void fill_plan(const salvaged_trees& best);

	const io::block_device& dev_;
	const repair_overrides& overrides_;
	progress_sink& progress_;
	pdata::btree_walker walker_;
	uint64_t nr_data_limit_ = unknown_size;
	repair_plan plan_;
	std::map<uint64_t, bool> from_snapshot_;
	std::optional<std::vector<bool>> in_use_;
};

salvaged_trees planner::evaluate(block_address details_root, block_address mapping_root)
{
	salvaged_trees t = salvage_top_levels(dev_, details_root, mapping_root);
	for (auto& d : t.devices)
		salvage_device_mappings(walker_, d, nr_data_limit_, t.damage);
	return t;
}

std::vector<salvaged_trees> planner::scan_candidates(const metadata_scan_result& scan)
{
	std::vector<salvaged_details> details;
	for (block_address r : scan.details_roots)
		details.push_back(salvage_details_tree(dev_, r));
	std::vector<salvaged_top_level> tops;
	for (block_address r : scan.mapping_roots)
		tops.push_back(salvage_top_level(dev_, r));

	// Pair every mapping tree with the details trees that list the same
	// devices; a mapping tree with no such partner keeps the details tree
	// that shares most of its devices (its other devices lose their details).
	std::vector<salvaged_trees> pairs;
	for (auto& top : tops) {
		auto ids = ids_of(top);
		const salvaged_details* partner = nullptr;
		size_t best_overlap = 0;
		bool exact = false;
		for (auto& d : details) {
			auto dids = ids_of(d);
			if (dids == ids) {
				pairs.push_back(join_top_levels(d, top));
				exact = true;
				continue;
			}
			std::vector<uint64_t> common;
			std::set_intersection(ids.begin(), ids.end(), dids.begin(), dids.end(), std::back_inserter(common));
			if (common.size() > best_overlap) {
				best_overlap = common.size();
				partner = &d;
			}
		}
		if (!exact)
			pairs.push_back(partner ? join_top_levels(*partner, top) : join_top_levels(salvaged_details{}, top));
	}
	std::sort(pairs.begin(), pairs.end(), [&](auto& a, auto& b) { return better_top_levels(a, b); });
	if (pairs.size() > fully_evaluated)
		pairs.resize(fully_evaluated);
	for (auto& p : pairs)
		for (auto& d : p.devices)
			salvage_device_mappings(walker_, d, nr_data_limit_, p.damage);
	return pairs;
}

void planner::fall_back_to_snapshot(salvaged_trees& best, const std::optional<superblock>& snap)
{
	bool needed = std::any_of(best.devices.begin(), best.devices.end(),
	                          [](const salvaged_device& d) { return !d.root || !d.root_readable; });
	if (!needed || !snap)
		return;
	salvaged_trees s = evaluate(snap->device_details_root, snap->data_mapping_root);
	for (auto& d : best.devices) {
		if (d.root && d.root_readable)
			continue;
		auto it = std::find_if(s.devices.begin(), s.devices.end(), [&](auto& x) { return x.id == d.id; });
		if (it == s.devices.end() || !it->root || !it->root_readable)
			continue;
		uint64_t id = d.id;
		auto details = d.details ? d.details : it->details;
		d = *it;
		d.details = details;
		from_snapshot_[id] = true;
		plan_.notes.push_back(cat("thin device ", id, ": its tree is lost; recovered ", d.mappings,
		                          " mappings from the metadata snapshot's older copy"));
	}
}

void planner::fill_plan(const salvaged_trees& best)
{
	plan_.time = std::max(plan_.time, best.newest_time());
	uint64_t data_end = 0;
	for (auto& d : best.devices) {
		recovered_device r;
		r.id = d.id;
		r.root = d.root_readable ? d.root : std::nullopt;
		r.from_snapshot = from_snapshot_.count(d.id) > 0;
		r.mappings = d.mappings;
		r.lost = d.lost;
		if (d.details) {
			r.details = *d.details;
		} else {
			// Times at the newest the pool shows, so every block written
			// before counts as shared and is copied before being changed.
			r.details_lost = true;
			r.details.transaction_id = plan_.transaction_id;
			r.details.creation_time = r.details.snapshotted_time = plan_.time;
		}
		if (!d.root)
			r.lost.push_back({0, std::nullopt});
		data_end = std::max(data_end, d.data_end);
		plan_.devices.push_back(r);
	}
	if (plan_.nr_data_blocks == 0) {
		plan_.nr_data_blocks = data_end;
		plan_.notes.push_back(cat("the data device's size is unknown; assuming ", data_end,
		                          " blocks, the end of the highest mapping (give --nr-data-blocks to set it)"));
	}
}

repair_plan planner::run()
{
	auto live = try_superblock(dev_, thin::superblock_location);
	std::optional<superblock> snap;
	if (live && live->metadata_snap)
		snap = try_superblock(dev_, live->metadata_snap);

	if (overrides_.nr_data_blocks)
		nr_data_limit_ = *overrides_.nr_data_blocks;
	else if (live)
		nr_data_limit_ = live->data_sm.nr_blocks;

	salvaged_trees best;
	bool have = false;
	if (live) {
		best = evaluate(live->device_details_root, live->data_mapping_root);
		have = true;
		if (best.complete())
			plan_.notes.push_back("the superblock and its trees read back whole");
		else if (consistent(best))
			plan_.notes.push_back("the superblock's device details and mapping trees are sound; some devices' "
			                      "mappings are damaged");
	}

	// The superblock names the last committed transaction: while its top
	// levels are sound, nothing found elsewhere can be newer.
	if (!have || !consistent(best)) {
		plan_.notes.push_back(live ? "the superblock's trees are damaged: scanning the device for other roots"
		                           : "the superblock is damaged: scanning the device for its trees");
		if (live)
			in_use_ = blocks_in_use(dev_, *live);
		auto scan = scan_metadata(dev_, progress_);
		if (!live && !snap && !scan.superblocks.empty()) {
			// Copies of the superblock left by metadata snapshots; the newest
			// one stands in for the lost superblock's values and trees.
			auto newest = std::max_element(scan.superblocks.begin(), scan.superblocks.end(), [](auto& a, auto& b) {
				return std::make_pair(a.sb.trans_id, a.sb.time) < std::make_pair(b.sb.trans_id, b.sb.time);
			});
			snap = newest->sb;
			plan_.notes.push_back(cat("found a copy of the superblock (a metadata snapshot) at block ",
			                          newest->location, ", transaction ", newest->sb.trans_id));
		}
		for (auto& candidate : scan_candidates(scan)) {
			if (!have || better(candidate, best)) {
				best = std::move(candidate);
				have = true;
			}
		}
		if (snap) {
			salvaged_trees s = evaluate(snap->device_details_root, snap->data_mapping_root);
			if (!have || better(s, best)) {
				best = std::move(s);
				have = true;
			}
		}
		if (have)
			plan_.notes.push_back(cat("using the device details tree at block ", best.details_root,
			                          " and the mapping tree at block ", best.mapping_root));
		else
			plan_.notes.push_back("no device details or mapping tree survives: the repaired pool has no devices");
	}
	if (have)
		fall_back_to_snapshot(best, snap);

	// The superblock's values: the command line, the superblock, its copy,
	// or what the trees show.
	if (overrides_.data_block_size)
		plan_.data_block_size = *overrides_.data_block_size;
	else if (live)
		plan_.data_block_size = live->data_block_size;
	else if (snap)
		plan_.data_block_size = snap->data_block_size;
	else
		throw error(cat(dev_.path(), ": the superblock is damaged and no copy of it survives, so the data block "
		                             "size is unknown: give it with --data-block-size (in sectors, as the pool "
		                             "was created)"));

	if (overrides_.transaction_id)
		plan_.transaction_id = *overrides_.transaction_id;
	else if (live)
		plan_.transaction_id = live->trans_id;
	else if (have && !best.devices.empty())
		plan_.transaction_id = std::max(best.newest_transaction() + 1, snap ? snap->trans_id : 0);
	else if (snap)
		plan_.transaction_id = snap->trans_id;

	plan_.nr_data_blocks = nr_data_limit_ == unknown_size ? 0 : nr_data_limit_;
	plan_.time = live ? live->time : snap ? snap->time : 0;
	if (have)
		fill_plan(best);
	for (auto& line : best.damage)
		plan_.notes.push_back(line);
	return plan_;
}

}

repair_plan plan_repair(const io::block_device& dev, const repair_overrides& overrides, progress_sink& progress)
{
	return planner(dev, overrides, progress).run();
}

}
