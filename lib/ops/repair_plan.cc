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

// Candidate pairs from a scan whose mappings are read in full (each
// bottom-level tree once, however many candidates share it); the rest are
// ranked on their top levels alone.
constexpr size_t fully_evaluated = 64;
constexpr uint64_t unknown_size = UINT64_MAX;

// The kernel's data block sizes: multiples of 128 sectors (64 KiB) up to
// 2097152 (1 GiB).
bool usable_block_size(uint32_t sectors)
{
	return sectors >= 128 && sectors <= 2097152 && sectors % 128 == 0;
}

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

// Totals of count(device) over the devices two readings both list.
template <typename Count>
std::pair<uint64_t, uint64_t> common_totals(const salvaged_trees& a, const salvaged_trees& b, Count count)
{
	std::pair<uint64_t, uint64_t> out{0, 0};
	size_t j = 0;
	for (auto& d : a.devices) {
		while (j < b.devices.size() && b.devices[j].id < d.id)
			++j;
		if (j < b.devices.size() && b.devices[j].id == d.id) {
			out.first += count(d);
			out.second += count(b.devices[j]);
		}
	}
	return out;
}

// The mappings each of two readings yields on the devices both list.
std::pair<uint64_t, uint64_t> common_mappings(const salvaged_trees& a, const salvaged_trees& b)
{
	return common_totals(a, b, [](const salvaged_device& d) { return d.mappings; });
}

// Of two details trees listing the same devices, the one a later
// transaction wrote: newer device transactions and times, then more
// mappings recorded (writes add them).
bool newer_details(const salvaged_details& a, const salvaged_details& b)
{
	auto key = [](const salvaged_details& t) {
		uint64_t transaction = 0, mapped = 0;
		uint32_t time = 0;
		for (auto& [id, d] : t.entries) {
			transaction = std::max(transaction, d.transaction_id);
			time = std::max({time, d.creation_time, d.snapshotted_time});
			mapped += d.mapped_blocks;
		}
		return std::make_tuple(t.complete, transaction, time, mapped);
	};
	return key(a) > key(b);
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
		// Block 0 is the superblock: a root of 0 stands for a tree not found.
		// The metadata snapshot's roots are in use too, but they are old:
		// only the live transaction's roots count.
		auto used = [&](block_address b) {
			bool snap_root = snap_roots_ && (b == snap_roots_->first || b == snap_roots_->second);
			return b != 0 && !snap_root && b < in_use_->size() && (*in_use_)[b];
		};
		return used(t.details_root) + used(t.mapping_root);
	}

	// Which of two readings of the pool to prefer: one with devices, then a
	// consistent one, then one whose roots are in use, then the newest, then
	// the one that yields more mappings. An old transaction never wins over
	// a newer one for being emptier: trees left empty by the pool's first
	// transactions are consistent, but never preferred to devices.
	bool better(const salvaged_trees& a, const salvaged_trees& b) const
	{
		auto key = [&](const salvaged_trees& t) {
			return std::make_tuple(!t.devices.empty(), consistent(t), roots_in_use(t), t.newest_time(),
			                       t.newest_transaction());
		};
		auto ka = key(a), kb = key(b);
		if (ka != kb)
			return ka > kb;
		// As new as each other by their times: the later transaction has, on
		// the devices both list, more mappings (writes add them). Deleting a
		// device makes a reading emptier, not older.
		auto [common_a, common_b] = common_mappings(a, b);
		if (common_a != common_b)
			return common_a > common_b;
		// Then the one whose devices were written later: a write over a
		// block shared with a snapshot moves it, with a newer time.
		auto [written_a, written_b] = common_totals(a, b, [](const salvaged_device& d) { return d.newest_time; });
		if (written_a != written_b)
			return written_a > written_b;
		return std::make_pair(a.total_mappings(), a.devices.size()) >
		       std::make_pair(b.total_mappings(), b.devices.size());
	}

	// Ranks pairs before their mappings are read: devices, sound top
	// levels, roots in use, then the newest device times, then more devices.
	bool better_top_levels(const salvaged_trees& a, const salvaged_trees& b) const
	{
		auto key = [&](const salvaged_trees& t) {
			return std::make_tuple(!t.devices.empty(), consistent(t), roots_in_use(t), t.newest_time(),
			                       t.newest_transaction(), t.devices.size());
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
	// salvage_device_mappings, each bottom-level tree read once: candidate
	// readings share most of their devices' trees.
	void salvage_mappings_once(salvaged_device& d, std::vector<std::string>& damage);
	std::vector<salvaged_trees> scan_candidates(const metadata_scan_result& scan);
	void keep_live_tree(salvaged_trees& best, const salvaged_trees& live);
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
	std::optional<std::pair<block_address, block_address>> snap_roots_;  // details, mapping
	std::map<block_address, std::pair<salvaged_device, std::vector<std::string>>> salvaged_roots_;
};

salvaged_trees planner::evaluate(block_address details_root, block_address mapping_root)
{
	salvaged_trees t = salvage_top_levels(dev_, details_root, mapping_root);
	for (auto& d : t.devices)
		salvage_mappings_once(d, t.damage);
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

	// Pair every mapping tree with the newest details tree that lists the
	// same devices (old transactions leave many such copies; pairing each
	// with each would only multiply the candidates); a mapping tree with no
	// such partner keeps the details tree that shares most of its devices
	// (its other devices lose their details).
	std::vector<salvaged_trees> pairs;
	for (auto& top : tops) {
		auto ids = ids_of(top);
		const salvaged_details* partner = nullptr;
		size_t best_overlap = 0;
		const salvaged_details* exact = nullptr;
		for (auto& d : details) {
			auto dids = ids_of(d);
			if (dids == ids) {
				if (!exact || newer_details(d, *exact))
					exact = &d;
				continue;
			}
			std::vector<uint64_t> common;
			std::set_intersection(ids.begin(), ids.end(), dids.begin(), dids.end(), std::back_inserter(common));
			if (common.size() > best_overlap) {
				best_overlap = common.size();
				partner = &d;
			}
		}
		if (exact)
			partner = exact;
		pairs.push_back(partner ? join_top_levels(*partner, top) : join_top_levels(salvaged_details{}, top));
	}
	std::stable_sort(pairs.begin(), pairs.end(), [&](auto& a, auto& b) { return better_top_levels(a, b); });
	if (pairs.size() > fully_evaluated)
		pairs.resize(fully_evaluated);
	for (auto& p : pairs)
		for (auto& d : p.devices)
			salvage_mappings_once(d, p.damage);
	return pairs;
}

void planner::salvage_mappings_once(salvaged_device& d, std::vector<std::string>& damage)
{
	if (!d.root) {
		salvage_device_mappings(walker_, d, nr_data_limit_, damage);
		return;
	}
	auto it = salvaged_roots_.find(*d.root);
	if (it == salvaged_roots_.end()) {
		salvaged_device fresh;
		fresh.root = d.root;
		std::vector<std::string> lines;
		salvage_device_mappings(walker_, fresh, nr_data_limit_, lines);
		it = salvaged_roots_.emplace(*d.root, std::make_pair(fresh, lines)).first;
	}
	const auto& [done, lines] = it->second;
	d.mappings = done.mappings;
	d.newest_time = done.newest_time;
	d.data_end = done.data_end;
	d.root_readable = done.root_readable;
	d.lost = done.lost;
	for (auto& line : lines)
		damage.push_back(cat("thin device ", d.id, line.substr(line.find(':'))));
}

// The superblock's own trees are the newest word on the pool: where one of
// them reads back whole, its devices are the pool's devices. A sound details
// tree lists the devices and their details; a sound top level lists the
// devices and their roots. What the damaged one of the two lost comes from
// the best other reading (an older transaction, or the metadata snapshot).
void planner::keep_live_tree(salvaged_trees& best, const salvaged_trees& live)
{
	bool same = best.details_root == live.details_root && best.mapping_root == live.mapping_root;
	if (same || (!live.details_complete && !live.mapping_complete))
		return;
	bool by_details = live.details_complete;
	std::vector<salvaged_device> devices;
	for (const auto& d : live.devices) {
		if (by_details ? !d.details : !d.root)
			continue;
		auto other = std::find_if(best.devices.begin(), best.devices.end(), [&](auto& x) { return x.id == d.id; });
		salvaged_device m = d;
		if ((!m.root || !m.root_readable) && other != best.devices.end() && other->root && other->root_readable) {
			m = *other;
			m.details = d.details;
		}
		if (!m.details && other != best.devices.end())
			m.details = other->details;
		devices.push_back(m);
	}
	plan_.notes.push_back(cat("the superblock's ", by_details ? "device details tree" : "mapping tree (top level)",
	                          " reads back whole: it lists the devices; the rest comes from the trees at blocks ",
	                          best.details_root, " and ", best.mapping_root));
	best.details_root = live.details_root;
	best.mapping_root = live.mapping_root;
	best.devices = std::move(devices);
	best.damage.insert(best.damage.end(), live.damage.begin(), live.damage.end());
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
	plan_.data_end = data_end;
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
	if (snap)
		snap_roots_ = std::make_pair(snap->device_details_root, snap->data_mapping_root);

	if (overrides_.nr_data_blocks)
		nr_data_limit_ = *overrides_.nr_data_blocks;
	else if (live)
		nr_data_limit_ = live->data_sm.nr_blocks;

	salvaged_trees best, live_trees;
	bool have = false;
	if (live) {
		live_trees = evaluate(live->device_details_root, live->data_mapping_root);
		best = live_trees;
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
		if (live)
			keep_live_tree(best, live_trees);
		if (!have)
			plan_.notes.push_back("no device details or mapping tree survives: the repaired pool has no devices");
	}
	if (have)
		fall_back_to_snapshot(best, snap);

	// The superblock's values: the command line, the superblock, its copy,
	// or what the trees show. A data block size the kernel would refuse is
	// damage, not a value to copy.
	if (overrides_.data_block_size) {
		if (!usable_block_size(*overrides_.data_block_size))
			throw error(cat("--data-block-size ", *overrides_.data_block_size,
			                ": the kernel takes multiples of 128 sectors from 128 to 2097152"));
		plan_.data_block_size = *overrides_.data_block_size;
	} else if (live && usable_block_size(live->data_block_size)) {
		plan_.data_block_size = live->data_block_size;
	} else if (snap && usable_block_size(snap->data_block_size)) {
		plan_.data_block_size = snap->data_block_size;
	} else if (live) {
		throw error(cat(dev_.path(), ": the superblock's data block size, ", live->data_block_size,
		                " sectors, is not one the kernel takes, and no copy of the superblock holds another: give "
		                "it with --data-block-size (in sectors, as the pool was created)"));
	} else {
		throw error(cat(dev_.path(), ": the superblock is damaged and no copy of it survives, so the data block "
		                             "size is unknown: give it with --data-block-size (in sectors, as the pool "
		                             "was created)"));
	}

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
