#include "ops/reference_walk.h"

#include <algorithm>

#include "base/endian.h"
#include "base/error.h"
#include "base/parallel_sort.h"
#include "base/text.h"
#include "io/read_ahead.h"
#include "pdata/btree_leaves.h"
#include "pdata/node_check.h"
#include "thin/block_time.h"

namespace thinmeta::ops {

using pdata::key_range;
using pdata::node_view;

namespace {

// Nodes read per batched request while walking a level: 2 MiB.
constexpr size_t batch_blocks = 512;
// Nodes read and visited per slice of a level: 256 MiB.
constexpr size_t slice_blocks = 128 * batch_blocks;

constexpr uint64_t count_unknown = UINT64_MAX;
constexpr uint64_t count_in_progress = UINT64_MAX - 1;
constexpr uint64_t count_not_computed = UINT64_MAX - 2;

uint32_t value_size_of(tree_kind kind)
{
	switch (kind) {
	case tree_kind::details:
		return thin::device_details_size;
	case tree_kind::mapping_top:
	case tree_kind::mapping_bottom:
		return thin::mapping_value_size;
	case tree_kind::data_index:
		return pdata::index_entry_size;
	case tree_kind::data_ref_counts:
	case tree_kind::metadata_ref_counts:
		return pdata::ref_count_value_size;
	case tree_kind::none:
		break;
	}
	return 0;
}

}

reference_walk::reference_walk(const io::block_device& dev, uint64_t nr_metadata_blocks, uint64_t nr_data_blocks,
                               check_findings& findings, data_tally tally)
    : dev_(dev), nr_metadata_blocks_(nr_metadata_blocks), nr_data_blocks_(nr_data_blocks), findings_(findings),
      md_counts_(nr_metadata_blocks), visited_kind_(nr_metadata_blocks), visited_owner_(nr_metadata_blocks),
      data_tally_(tally), data_counts_(tally == data_tally::counts ? nr_data_blocks : 0),
      leaf_entries_(nr_metadata_blocks),
      data_bitmaps_(pdata::nr_bitmaps_for(nr_data_blocks))
{
}

uint32_t reference_walk::new_owner(tree_kind kind, bool in_snapshot, uint64_t dev_id)
{
	// Owners are numbered in 26 bits (node_ref). Device ids have 24: a
	// sound pool needs at most 2^24 owners for its devices, as many again
	// for its metadata snapshot's, and a few for other trees.
	if (owners_.size() == max_owners)
		throw error(cat(dev_.path(), ": the top-level mapping trees list more than ", max_owners,
		                " devices; the metadata is beyond what thin_check can follow"));
	owners_.push_back({kind, in_snapshot, dev_id});
	return static_cast<uint32_t>(owners_.size() - 1);
}

std::string reference_walk::owner_name(uint32_t owner) const
{
	const auto& o = owners_[owner];
	std::string prefix = o.in_snapshot ? "metadata snapshot's " : "";
	switch (o.kind) {
	case tree_kind::details:
		return prefix + "device details tree";
	case tree_kind::mapping_top:
		return prefix + "mapping tree (top level)";
	case tree_kind::mapping_bottom:
		return cat(prefix, "mapping tree of thin device ", o.dev_id);
	case tree_kind::data_index:
		return "data space map index";
	case tree_kind::data_ref_counts:
		return "data space map ref-count tree";
	case tree_kind::metadata_ref_counts:
		return "metadata space map ref-count tree";
	case tree_kind::none:
		break;
	}
	return "tree";
}

key_range reference_walk::range_of(const node_ref& r) const
{
	return key_range{r.begin, r.has_end() ? std::optional<uint64_t>(r.end) : std::nullopt};
}

uint64_t reference_walk::metadata_limit() const
{
	// References keep 32-bit block numbers: past 2^32 blocks (16 TiB, a
	// thousand times the largest metadata device) is past the end too.
	return std::min({nr_metadata_blocks_, dev_.nr_blocks(), uint64_t(1) << 32});
}

bool reference_walk::count_reference(block_address b, const std::string& from)
{
	if (b >= metadata_limit()) {
		trees_damaged_ = true;
		findings_.report(severity::fatal, "reference past the end",
		                 cat(from, " points to block ", b, ", past the end of the metadata (", metadata_limit(),
		                     " blocks)"));
		return false;
	}
	md_counts_.inc(b);
	return true;
}

void reference_walk::add_tree(block_address root, tree_kind kind, bool in_snapshot)
{
	// The reference to the root is counted when its level is processed.
	uint32_t owner = new_owner(kind, in_snapshot);
	if (kind == tree_kind::details || kind == tree_kind::mapping_top)
		small_roots_.emplace_back(owner, root);
	enqueue(pending_, root, owner, 0, 0, 0);
}

void reference_walk::enqueue(pod_vector<node_ref>& to, block_address b, uint32_t owner, unsigned depth, uint64_t begin,
                             uint64_t end)
{
	key_range keys{begin, end ? std::optional<uint64_t>(end) : std::nullopt};
	if (b >= metadata_limit())
		node_damaged(b, owner, keys,
		             cat("points to block ", b, ", past the end of the metadata (", metadata_limit(), " blocks)"));
	else if (depth > max_depth)
		node_damaged(b, owner, keys,
		             cat("lies ", depth, " levels below its tree's root, deeper than any sound b-tree (", max_depth,
		                 " at most)"));
	else
		to.push_back({begin, end, static_cast<uint32_t>(b), owner, depth});
}

void reference_walk::hold_ref_count_leaves()
{
	// A ref-count tree's leaves are scattered over the metadata: read in a
	// level of their own, each costs a request, while in the level of the
	// mapping leaves, which covers most of the device, they come with the
	// blocks around them (thin_check of a 1.25 GiB device: 23,000 leaves,
	// 0.45 s on their own).
	for (const node_ref& r : pending_) {
		tree_owner& o = owners_[r.owner];
		if (o.kind != tree_kind::data_ref_counts && o.kind != tree_kind::metadata_ref_counts)
			continue;
		// An unsound tree: the walk will say so; nothing waits.
		if (auto depth = pdata::leftmost_leaf_depth(dev_, r.block, value_size_of(o.kind)))
			o.held_depth = static_cast<uint8_t>(*depth);
	}
}

void reference_walk::hold_or_release(pod_vector<node_ref>& level)
{
	size_t kept = 0;
	for (const node_ref& r : level) {
		if (owners_[r.owner].held_depth == r.depth)
			held_.push_back(r);
		else
			level[kept++] = r;
	}
	level.truncate(kept);
	// Released into a level at least as large as what waits, or when
	// nothing else is left.
	if (level.size() >= held_.size() || level.empty()) {
		for (const node_ref& r : held_)
			level.push_back(r);
		pod_vector<node_ref>().swap(held_);  // its memory back before the level is read
	}
}

void reference_walk::run(progress_sink& progress, uint64_t expected_blocks)
{
	hold_ref_count_leaves();
	pod_vector<node_ref> level = std::move(pending_);
	pod_vector<node_ref> next;
	while (!level.empty() || !held_.empty()) {
		hold_or_release(level);
		next.clear();
		process_level(level, next, progress);
		progress.update("checking b-trees", blocks_read_, std::max(expected_blocks, blocks_read_));
		level.swap(next);
	}
	data_increments_.apply_all();
	check_deferred_bounds();
}

void reference_walk::process_level(pod_vector<node_ref>& level, pod_vector<node_ref>& next,
                                   progress_sink& progress)
{
	// The level of leaves of a large pool holds millions of references, and
	// nothing else runs while they are sorted (sim-4g: 0.17 s on one core
	// before the first leaf was read).
	parallel_sort(level.begin(), level.end(), [](const node_ref& a, const node_ref& b) {
		return a.block != b.block ? a.block < b.block : a.owner < b.owner;
	});

	// Count every reference and decide, block by block, what the level needs
	// read (blocks seen in earlier levels are not read again); read and
	// visit them a slice at a time, so the tables of what to read stay small
	// however large the level.
	std::vector<block_address> blocks;
	std::vector<to_visit> visits;
	for (size_t i = 0; i < level.size();) {
		size_t j = i;
		block_address b = level[i].block;
		while (j < level.size() && level[j].block == b)
			++j;
		// enqueue() let no block past the end in.
		md_counts_.inc(b, static_cast<uint32_t>(j - i));
		if (visited_kind_[b] != static_cast<uint8_t>(tree_kind::none)) {
			revisit(&level[i], j - i);
		} else {
			blocks.push_back(b);
			tree_kind kind = owners_[level[i].owner].kind;
			visits.push_back({i, j, value_size_of(kind), kind});
		}
		i = j;
		if (blocks.size() == slice_blocks || (i == level.size() && !blocks.empty())) {
			read_slice(level, blocks, visits, next, progress);
			blocks.clear();
			visits.clear();
			// The references so far are done with: their memory goes back
			// while the counts grow (the level of leaves is the largest).
			level.discard_prefix(i);
		}
	}
}

void reference_walk::read_slice(const pod_vector<node_ref>& level, const std::vector<block_address>& blocks,
                                const std::vector<to_visit>& visits, pod_vector<node_ref>& next,
                                progress_sink& progress)
{
	// read_ahead reads each batch and validates its nodes (checksums are
	// most of the cost) on other threads while this one visits the batch
	// before.
	size_t nr_batches = (blocks.size() + batch_blocks - 1) / batch_blocks;
	std::vector<std::span<const block_address>> batches;
	for (size_t k = 0; k < nr_batches; ++k)
		batches.emplace_back(blocks.data() + k * batch_blocks, std::min(batch_blocks, blocks.size() - k * batch_blocks));
	std::vector<std::vector<std::pair<size_t, std::string>>> faults(nr_batches);
	// Where the walk fingerprints the data blocks, the reading threads take
	// the sound mapping leaves' as they validate them (the leaf is in their
	// cache then; this thread would read it from the other core's): a sum
	// per batch, and the leaves left to this thread (those mapping a block
	// past the end of the data device, to be reported).
	const bool fingerprint = data_tally_ == data_tally::fingerprint;
	struct batch_references {
		multiset_fingerprint sum;
		std::vector<size_t> left;
	};
	std::vector<batch_references> taken(nr_batches);
	auto validate = [&](size_t k, const uint8_t* data, size_t n) {
		for (size_t j = 0; j < n; ++j) {
			size_t v = k * batch_blocks + j;
			const uint8_t* block = data + j * block_size;
			node_view node(block);
			std::string fault = pdata::check_node(block, blocks[v], visits[v].value_size);
			for (size_t r = visits[v].first_ref; fault.empty() && r < visits[v].end_ref; ++r)
				fault = check_bounds(node, level[r]);
			if (!fault.empty())
				faults[k].emplace_back(j, std::move(fault));
			else if (fingerprint && visits[v].kind == tree_kind::mapping_bottom && !node.is_internal() &&
			         !taken[k].sum.add_fields(node.value(0), node.nr_entries(), thin::time_bits, nr_data_blocks_))
				taken[k].left.push_back(j);
		}
	};

	io::read_ahead reader(dev_, batches, validate, read_buffers_, io::cached_readers::two);
	static const std::string sound;
	for (size_t k = 0; k < nr_batches; ++k) {
		const uint8_t* data = reader.next();
		auto fault = faults[k].begin();
		auto left = taken[k].left.begin();
		for (size_t j = 0; j < batches[k].size(); ++j) {
			const to_visit& v = visits[k * batch_blocks + j];
			bool damaged = fault != faults[k].end() && fault->first == j;
			bool left_here = left != taken[k].left.end() && *left == j;
			visit(data + j * block_size, &level[v.first_ref], v.end_ref - v.first_ref, next,
			      damaged ? fault->second : sound, fingerprint && !left_here);
			if (damaged)
				++fault;
			if (left_here)
				++left;
		}
		data_references_ += taken[k].sum;
		blocks_read_ += batches[k].size();
		progress.update("checking b-trees", blocks_read_, blocks_read_);
	}
}

void reference_walk::node_damaged(block_address b, uint32_t owner, const key_range& keys, const std::string& what,
                                  severity s)
{
	const auto& o = owners_[owner];
	std::string where = cat(owner_name(owner), ", block ", b);
	if (o.kind == tree_kind::mapping_bottom)
		where += cat(" (virtual blocks ", keys.describe(), ")");
	else if (o.kind == tree_kind::mapping_top || o.kind == tree_kind::details)
		where += cat(" (device ids ", keys.describe(), ")");
	findings_.report(s, s == severity::fatal ? "damaged b-tree node" : "b-tree node shape",
	                 cat(where, ": ", what));
	if (s != severity::fatal)
		return;
	trees_damaged_ = true;
	findings_.damaged_block(b);
	if (o.kind == tree_kind::mapping_bottom)
		findings_.lost_mappings(o.dev_id, o.in_snapshot, keys);
	else if (o.kind == tree_kind::mapping_top)
		findings_.lost_devices(o.in_snapshot, keys);
}

std::string reference_walk::check_bounds(const node_view& n, const node_ref& r) const
{
	if (!n.nr_entries())
		return {};
	if (n.key(0) < r.begin)
		return cat("first key ", n.key(0), " is below its parent's key ", r.begin);
	if (r.has_end() && n.key(n.nr_entries() - 1) >= r.end)
		return cat("last key ", n.key(n.nr_entries() - 1), " is not below the next key of its parent, ", r.end);
	return {};
}

void reference_walk::revisit(const node_ref* refs, size_t nr)
{
	block_address b = refs[0].block;
	auto kind = static_cast<tree_kind>(visited_kind_[b]);
	bool damaged = damaged_.count(b) > 0;
	for (size_t k = 0; k < nr; ++k) {
		const node_ref& r = refs[k];
		if (damaged) {
			node_damaged(r, "shares a damaged node (reported above)");
		} else if (owners_[r.owner].kind != kind) {
			node_damaged(r, cat("the block is also part of the ", owner_name(visited_owner_[b]),
			                    ": two structures claim it"));
		} else if (r.owner == visited_owner_[b]) {
			node_damaged(r, "the block is referenced twice within this tree: it has a cycle or a cross-link");
		} else {
			deferred_bounds_.push_back(r);
		}
	}
}

void reference_walk::visit(const uint8_t* block, const node_ref* refs, size_t nr, pod_vector<node_ref>& next,
                           const std::string& fault, bool data_tallied)
{
	const node_ref& first = refs[0];
	block_address b = first.block;
	tree_kind kind = owners_[first.owner].kind;
	visited_kind_[b] = static_cast<uint8_t>(kind);
	visited_owner_[b] = first.owner;

	node_view n(block);
	if (!fault.empty()) {
		damaged_.insert(b);
		for (size_t k = 0; k < nr; ++k)
			node_damaged(refs[k], fault);
		return;
	}

	// The other references to this block in the same level: legitimate
	// sharing only between different trees of the same kind.
	for (size_t k = 1; k < nr; ++k) {
		const node_ref& r = refs[k];
		if (owners_[r.owner].kind != kind)
			node_damaged(r, cat("the block is also part of the ", owner_name(first.owner),
			                    ": two structures claim it"));
		else if (r.owner == refs[k - 1].owner)
			node_damaged(r, "the block is referenced twice within this tree: it has a cycle or a cross-link");
	}

	uint32_t min_entries = pdata::min_entries_for(n.max_entries());
	if (!first.is_root() && n.nr_entries() < min_entries)
		node_damaged(first,
		             cat("holds only ", n.nr_entries(), " entries; nodes other than a root hold at least ",
		                 min_entries, " (a third of ", n.max_entries(), ")"),
		             severity::non_fatal);

	if (n.is_internal()) {
		uint32_t nr_entries = n.nr_entries();
		if (kind == tree_kind::mapping_bottom) {
			bottom_internal_[b] = {child_list_.size(), nr_entries, count_not_computed};
			for (uint32_t i = 0; i < nr_entries; ++i)
				child_list_.push_back(static_cast<uint32_t>(std::min<uint64_t>(n.child(i), no_block)));
		} else if (kind == tree_kind::details || kind == tree_kind::mapping_top) {
			small_nodes_[b] = {kind, false, small_children_.size(), nr_entries};
			for (uint32_t i = 0; i < nr_entries; ++i)
				small_children_.push_back(n.child(i));
		}
		// Keys ascend (check_node_shape): a next key is never 0.
		for (uint32_t i = 0; i < nr_entries; ++i)
			enqueue(next, n.child(i), first.owner, first.depth + 1u, n.key(i),
			        i + 1 < nr_entries ? n.key(i + 1) : first.end);
		return;
	}

	auto& owner = owners_[first.owner];
	if (owner.leaf_depth == 0xFF)
		owner.leaf_depth = first.depth;
	else if (owner.leaf_depth != first.depth)
		node_damaged(first, cat("is a leaf at depth ", int(first.depth), " but the tree's other leaves are at depth ",
		                        int(owner.leaf_depth), ": the tree is malformed"));
	visit_leaf(n, first, next, data_tallied);
}

uint32_t reference_walk::count_data_blocks(const node_view& n, uint32_t first)
{
	// The hot loop of a check, on locals: the compiler cannot tell that the
	// increments' stores leave the node, the limit and the batch's own
	// pointers alone, and reloaded them all for every entry.
	static_assert(thin::mapping_value_size == 8);
	const uint8_t* values = n.value(0);
	const uint32_t nr = n.nr_entries();
	const uint64_t nr_data_blocks = nr_data_blocks_;
	auto& increments = data_increments_;
	auto& counts = data_counts_;
	auto data_block_at = [values](uint32_t k) { return load_le64(values + 8 * size_t(k)) >> thin::time_bits; };
	// Consecutive data blocks (sequential writes, restored ranges) are
	// counted in place, min_run or more at a time: their counts share
	// cache lines, where gathered each costs a store and a load. A group
	// of min_run entries is tested for a run by its last entry, so pools
	// with few runs pay one test per group, not per entry.
	constexpr uint32_t min_run = 8;
	uint32_t i = first;
	while (i < nr) {
		uint64_t data_block = data_block_at(i);
		if (data_block >= nr_data_blocks)
			return i;
		if (i + min_run <= nr && data_block_at(i + min_run - 1) == data_block + min_run - 1) {
			uint32_t end = i + 1;
			while (end < nr && data_block_at(end) == data_block + (end - i))
				++end;
			uint64_t length = std::min<uint64_t>(end - i, nr_data_blocks - data_block);
			if (length >= min_run) {
				counts.inc_run(data_block, length);
				i += static_cast<uint32_t>(length);
				continue;
			}
		}
		increments.inc(data_block);
		for (uint32_t group_end = std::min(nr, i + min_run); ++i < group_end;) {
			data_block = data_block_at(i);
			if (data_block >= nr_data_blocks)
				return i;
			increments.inc(data_block);
		}
	}
	return i;
}

uint32_t reference_walk::fingerprint_data_blocks(const node_view& n, uint32_t first)
{
	const uint32_t nr = n.nr_entries();
	uint32_t i = first;
	for (; i < nr; ++i) {
		uint64_t data_block = thin::block_time::unpack(n.value64(i)).block;
		if (data_block >= nr_data_blocks_)
			break;
		data_references_.add(data_block);
	}
	return i;
}

void reference_walk::visit_leaf(const node_view& n, const node_ref& r, pod_vector<node_ref>& next,
                                bool data_tallied)
{
	// A copy: new_owner() below grows owners_.
	const tree_owner owner = owners_[r.owner];
	uint32_t nr = n.nr_entries();
	switch (owner.kind) {
	case tree_kind::details:
		small_nodes_[r.block] = {owner.kind, true, details_.size(), nr};
		for (uint32_t i = 0; i < nr; ++i)
			details_.push_back({n.key(i), thin::device_details::decode(n.value(i))});
		break;

	case tree_kind::mapping_top:
		small_nodes_[r.block] = {owner.kind, true, devices_.size(), nr};
		for (uint32_t i = 0; i < nr; ++i) {
			uint64_t dev = n.key(i);
			uint32_t o = new_owner(tree_kind::mapping_bottom, owner.in_snapshot, dev);
			block_address root = n.value64(i);
			devices_.push_back({dev, root, o});
			if (skip_bottom_) {
				count_reference(root, cat(owner_name(r.owner), " entry for device ", dev));
				continue;
			}
			enqueue(next, root, o, 0, 0, 0);
		}
		break;

	case tree_kind::mapping_bottom: {
		leaf_entries_[r.block] = static_cast<uint8_t>(std::min(nr, 254u) + 1);
		if (data_tallied)
			break;
		uint64_t bad_begin = 0, bad_count = 0;
		auto tally = [&](uint32_t first) {
			return data_tally_ == data_tally::counts ? count_data_blocks(n, first) : fingerprint_data_blocks(n, first);
		};
		for (uint32_t i = 0; (i = tally(i)) < nr; ++i) {
			if (!bad_count)
				bad_begin = n.key(i);
			++bad_count;
		}
		if (bad_count)
			findings_.report(severity::fatal, "mapping past the end of the data device",
			                 cat(owner_name(r.owner), ", block ", r.block, ": ", bad_count,
			                     " mappings (the first at virtual block ", bad_begin,
			                     ") point past the end of the data device (", nr_data_blocks_, " blocks)"));
		break;
	}

	case tree_kind::data_index:
		for (uint32_t i = 0; i < nr; ++i) {
			uint64_t index = n.key(i);
			auto e = pdata::index_entry::decode(n.value(i));
			if (index >= data_bitmaps_.size()) {
				findings_.report(severity::fatal, "data space map index",
				                 cat("data space map index, block ", r.block, ": entry for bitmap ", index,
				                     ", but the data device needs only ", data_bitmaps_.size()));
				continue;
			}
			if (count_reference(e.blocknr, cat("data space map index entry ", index)))
				data_bitmaps_[index] = e;
		}
		break;

	case tree_kind::data_ref_counts:
		if (data_tally_ == data_tally::fingerprint) {
			for (uint32_t i = 0; i < nr; ++i)
				data_overflow_.add(n.key(i), n.value32(i));
			break;
		}
		[[fallthrough]];
	case tree_kind::metadata_ref_counts: {
		ref_count_summary& summary = ref_summaries_[owner.kind == tree_kind::metadata_ref_counts];
		for (uint32_t i = 0; i < nr; ++i)
			summary.add(n.key(i), n.value32(i));
		break;
	}

	case tree_kind::none:
		break;
	}
}

void reference_walk::check_deferred_bounds()
{
	if (deferred_bounds_.empty())
		return;
	std::sort(deferred_bounds_.begin(), deferred_bounds_.end(),
	          [](const node_ref& a, const node_ref& b) { return a.block < b.block; });
	std::vector<block_address> blocks;
	for (auto& r : deferred_bounds_)
		if (blocks.empty() || blocks.back() != r.block)
			blocks.push_back(r.block);
	for (size_t first = 0, ri = 0; first < blocks.size(); first += batch_blocks) {
		size_t n = std::min(batch_blocks, blocks.size() - first);
		buffer_.reserve(n);
		dev_.read_blocks({blocks.data() + first, n}, buffer_.data());
		for (size_t k = 0; k < n; ++k) {
			node_view node(buffer_.block(k));
			for (; ri < deferred_bounds_.size() && deferred_bounds_[ri].block == blocks[first + k]; ++ri) {
				std::string fault = check_bounds(node, deferred_bounds_[ri]);
				if (!fault.empty())
					node_damaged(deferred_bounds_[ri], fault);
			}
		}
	}
	deferred_bounds_.clear();
}

template <typename Entry>
std::vector<Entry> reference_walk::entries_under(tree_kind kind, bool in_snapshot, const std::vector<Entry>& all) const
{
	std::vector<Entry> out;
	std::unordered_set<block_address> seen;
	std::vector<block_address> stack;
	for (auto [owner, root] : small_roots_)
		if (owners_[owner].kind == kind && owners_[owner].in_snapshot == in_snapshot)
			stack.push_back(root);
	while (!stack.empty()) {
		block_address b = stack.back();
		stack.pop_back();
		// A block another kind of tree claimed (reported as damage) holds
		// no entries of this kind.
		auto it = small_nodes_.find(b);
		if (it == small_nodes_.end() || it->second.kind != kind || damaged_.count(b) || !seen.insert(b).second)
			continue;
		const small_node& n = it->second;
		if (n.leaf)
			out.insert(out.end(), all.begin() + static_cast<ptrdiff_t>(n.first),
			           all.begin() + static_cast<ptrdiff_t>(n.first + n.count));
		else
			stack.insert(stack.end(), small_children_.begin() + static_cast<ptrdiff_t>(n.first),
			             small_children_.begin() + static_cast<ptrdiff_t>(n.first + n.count));
	}
	std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.id < b.id; });
	return out;
}

std::vector<walked_device> reference_walk::devices(bool in_snapshot) const
{
	return entries_under(tree_kind::mapping_top, in_snapshot, devices_);
}

std::vector<walked_details> reference_walk::details(bool in_snapshot) const
{
	return entries_under(tree_kind::details, in_snapshot, details_);
}

uint64_t reference_walk::known_mappings(block_address b) const
{
	if (b < leaf_entries_.size() && leaf_entries_[b])
		return leaf_entries_[b] - 1u;
	auto it = bottom_internal_.find(b);
	return it == bottom_internal_.end() ? count_unknown : it->second.mappings;
}

std::optional<uint64_t> reference_walk::mapping_count(const walked_device& d)
{
	if (skip_bottom_)
		return std::nullopt;
	// Post-order over internal nodes, memoised, so shared subtrees are
	// totalled once. A node never read (out of range, damaged) makes the
	// total unknown, and so does a cycle (already reported): the ancestor
	// is still in progress when reached again.
	auto pending = [&](block_address b) -> bottom_internal* {
		auto it = bottom_internal_.find(b);
		return it != bottom_internal_.end() && it->second.mappings == count_not_computed ? &it->second : nullptr;
	};
	std::vector<std::pair<bottom_internal*, uint32_t>> stack;
	if (bottom_internal* root = pending(d.root)) {
		root->mappings = count_in_progress;
		stack.emplace_back(root, 0);
	}
	while (!stack.empty()) {
		bottom_internal* node = stack.back().first;
		uint32_t& next_child = stack.back().second;
		bottom_internal* child = nullptr;
		while (next_child < node->nr_children && !child)
			child = pending(child_list_[node->first_child + next_child++]);
		if (child) {
			child->mappings = count_in_progress;
			stack.emplace_back(child, 0);
			continue;
		}
		uint64_t total = 0;
		for (uint32_t k = 0; k < node->nr_children && total != count_unknown; ++k) {
			uint64_t c = known_mappings(child_list_[node->first_child + k]);
			total = c >= count_not_computed ? count_unknown : total + c;
		}
		node->mappings = total;
		stack.pop_back();
	}
	uint64_t c = known_mappings(d.root);
	if (c >= count_not_computed)
		return std::nullopt;
	return c;
}

}
