#include "ops/check.h"

#include <algorithm>
#include <optional>

#include "base/endian.h"
#include "base/error.h"
#include "base/text.h"
#include "io/aligned_buffer.h"
#include "io/block_device.h"
#include "ops/check_findings.h"
#include "ops/reference_walk.h"
#include "ops/space_map_check.h"
#include "thin/block_time.h"
#include "thin/pool_metadata.h"
#include "thin/superblock.h"

namespace thinmeta::ops {

namespace {

using thin::superblock;

constexpr uint32_t min_data_block_size = 128;
constexpr uint32_t max_data_block_size = 2097152;

// References counted by the walk, to compare with a space map.
class counted_references final : public expected_counts {
public:
	explicit counted_references(const pdata::ref_counter& counts) : counts_(counts) {}
	void get(uint64_t first, uint32_t n, uint32_t* out) const override { counts_.get_range(first, n, out); }
	void get_bitmap_bytes(uint64_t first, uint32_t n, uint8_t* out) const override
	{
		counts_.get_bitmap_bytes(first, n, out);
	}

private:
	const pdata::ref_counter& counts_;
};

// Takes what a second walk finds and says nothing.
class quiet_listener final : public check_listener {
public:
	void stage(std::string_view) override {}
	void value(std::string_view, uint64_t) override {}
	void finding(severity, const std::string&) override {}
};

// What one pass of the check leaves for the fix-ups that follow it.
struct check_outcome {
	check_verdict verdict;
	bool needs_check = false;
	// The whole live metadata was checked (not -m, --super-block-only,
	// --skip-mappings or an overridden root).
	bool full = false;
	uint32_t data_block_size = 0;
	std::vector<uint64_t> leaked_metadata;
	std::vector<uint64_t> leaked_data;
};

class checker {
public:
	checker(const check_options& options, check_listener& listener, progress_sink& progress)
	    : options_(options), listener_(listener), progress_(progress), findings_(listener),
	      dev_(io::block_device::open(options.path, io::access::read_only,
	                                  options.metadata_snap ? io::sharing::shared : io::sharing::exclusive))
	{
	}

	check_outcome run();

private:
	bool check_live_superblock();
	bool read_superblock(block_address where, superblock& out, const std::string& name);
	void walk_trees();
	// Queues every tree of the metadata checked, and the space maps'
	// structures where their counts are compared, and walks them.
	void walk_metadata(reference_walk& walk, check_findings& findings, bool compare_counts,
	                   stored_space_map& metadata_sm);
	void queue_space_map_structures(reference_walk& walk, check_findings& findings, stored_space_map& metadata_sm);
	stored_space_map data_space_map(const reference_walk& walk) const;
	void cross_check_devices(reference_walk& walk, bool in_snapshot);

	const check_options& options_;
	check_listener& listener_;
	progress_sink& progress_;
	check_findings findings_;
	io::block_device dev_;
	superblock sb_;
	superblock snap_;
	bool snap_ok_ = false;
	io::aligned_buffer block_{1};
	std::vector<uint64_t> leaked_metadata_;
	std::vector<uint64_t> leaked_data_;
};

bool checker::read_superblock(block_address where, superblock& out, const std::string& name)
{
	if (where >= dev_.nr_blocks()) {
		findings_.report(severity::fatal, "superblock",
		                 cat(name, " at block ", where, " is past the end of the metadata (", dev_.nr_blocks(),
		                     " blocks)"));
		return false;
	}
	dev_.read_block(where, block_.data());
	std::string fault = thin::check_superblock(block_.data(), where);
	if (!fault.empty()) {
		findings_.report(severity::fatal, "superblock",
		                 cat(name, " at block ", where, ": ", fault, thin::superblock_fault_hint(block_.data(), where)));
		findings_.damaged_block(where);
		return false;
	}
	out = superblock::decode(block_.data());
	return true;
}

bool checker::check_live_superblock()
{
	listener_.stage("examining superblock");
	if (dev_.nr_blocks() == 0)
		throw error(cat(dev_.path(), ": too small to hold metadata (", dev_.size_bytes(),
		                " bytes; the superblock alone is 4096)"));
	if (!read_superblock(thin::superblock_location, sb_, "superblock"))
		return false;

	listener_.value("TRANSACTION_ID", sb_.trans_id);
	listener_.value("METADATA_FREE_BLOCKS", sb_.metadata_sm.nr_blocks - std::min(sb_.metadata_sm.nr_blocks,
	                                                                              sb_.metadata_sm.nr_allocated));

	bool ok = true;
	auto fatal = [&](const std::string& text) {
		findings_.report(severity::fatal, "superblock", text);
		ok = false;
	};
	auto warn = [&](const std::string& text) { findings_.report(severity::warning, "superblock", text); };

	if (sb_.version != 1 && sb_.version != thin::superblock_version)
		warn(cat("superblock: unknown metadata version ", sb_.version, " (the kernel writes 2)"));
	if (sb_.flags & ~thin::needs_check_flag)
		warn(cat("superblock: unknown flags ", sb_.flags & ~thin::needs_check_flag));
	if (sb_.compat_ro_flags)
		warn(cat("superblock: compat_ro feature flags ", sb_.compat_ro_flags,
		         " are set: the kernel will only open this metadata read-only"));
	if (sb_.needs_check())
		warn("superblock: the kernel has flagged this metadata as needing a check (needs_check); "
		     "--clear-needs-check-flag clears it once the check passes");
	if (sb_.data_block_size < min_data_block_size || sb_.data_block_size > max_data_block_size ||
	    sb_.data_block_size % min_data_block_size)
		fatal(cat("superblock: data block size ", sb_.data_block_size,
		          " sectors is not a multiple of 128 between 128 and 2097152: the kernel cannot use it"));

	uint64_t md_blocks = sb_.metadata_sm.nr_blocks;
	if (md_blocks == 0 || md_blocks > pdata::max_metadata_blocks)
		fatal(cat("superblock: the metadata space map covers ", md_blocks, " blocks (possible: 1 to ",
		          pdata::max_metadata_blocks, ")"));
	else if (md_blocks > dev_.nr_blocks())
		fatal(cat("superblock: the metadata space map covers ", md_blocks, " blocks but ", dev_.path(), " holds only ",
		          dev_.nr_blocks(), ": the image is truncated, or this is the wrong device"));
	if (sb_.data_sm.nr_blocks > thin::max_data_block + 1)
		fatal(cat("superblock: the data space map covers ", sb_.data_sm.nr_blocks,
		          " blocks, more than a mapping can address (2^40)"));
	// Each bitmap of the data space map takes a metadata block of its own;
	// the recount's memory is sized from this, so it is checked first.
	else if (pdata::nr_bitmaps_for(sb_.data_sm.nr_blocks) > md_blocks)
		fatal(cat("superblock: the data space map covers ", sb_.data_sm.nr_blocks, " blocks, which would take ",
		          pdata::nr_bitmaps_for(sb_.data_sm.nr_blocks), " bitmap blocks, more than the ", md_blocks,
		          " metadata blocks there are"));

	if (sb_.metadata_snap && !options_.metadata_snap) {
		if (sb_.metadata_snap >= std::min(md_blocks, dev_.nr_blocks()))
			fatal(cat("superblock: the metadata snapshot's block ", sb_.metadata_snap,
			          " is past the end of the metadata"));
		else
			snap_ok_ = read_superblock(sb_.metadata_snap, snap_, "metadata snapshot superblock");
	}
	return ok;
}

void checker::queue_space_map_structures(reference_walk& walk, check_findings& findings, stored_space_map& metadata_sm)
{
	walk.add_tree(sb_.data_sm.bitmap_root, tree_kind::data_index, false);
	walk.add_tree(sb_.data_sm.ref_count_root, tree_kind::data_ref_counts, false);
	walk.add_tree(sb_.metadata_sm.ref_count_root, tree_kind::metadata_ref_counts, false);

	block_address index = sb_.metadata_sm.bitmap_root;
	metadata_sm.name = "metadata";
	metadata_sm.nr_blocks = sb_.metadata_sm.nr_blocks;
	metadata_sm.nr_allocated = sb_.metadata_sm.nr_allocated;
	uint64_t nr_bitmaps = pdata::nr_bitmaps_for(metadata_sm.nr_blocks);
	metadata_sm.bitmaps.assign(nr_bitmaps, {});
	if (!walk.count_reference(index, "the metadata space map root"))
		return;
	dev_.read_block(index, block_.data());
	std::string fault = pdata::check_index_block(block_.data(), index);
	if (!fault.empty()) {
		findings.report(severity::fatal, "metadata space map index",
		                cat("metadata space map index block ", index, ": ", fault));
		findings.damaged_block(index);
		return;
	}
	for (uint32_t i = 0; i < nr_bitmaps; ++i) {
		auto e = pdata::index_entry::decode(block_.data() + pdata::metadata_index_entry_offset(i));
		if (walk.count_reference(e.blocknr, cat("metadata space map index entry ", i)))
			metadata_sm.bitmaps[i] = e;
	}
}

void checker::cross_check_devices(reference_walk& walk, bool in_snapshot)
{
	auto devices = walk.devices(in_snapshot);
	auto details = walk.details(in_snapshot);
	std::string where = in_snapshot ? "metadata snapshot: " : "";
	size_t d = 0, t = 0;
	while (d < details.size() || t < devices.size()) {
		if (t == devices.size() || (d < details.size() && details[d].id < devices[t].id)) {
			findings_.report(severity::fatal, "device sets",
			                 cat(where, "thin device ", details[d].id,
			                     " is in the device details tree but has no mapping tree"));
			++d;
		} else if (d == details.size() || devices[t].id < details[d].id) {
			findings_.report(severity::fatal, "device sets",
			                 cat(where, "thin device ", devices[t].id,
			                     " has a mapping tree but is missing from the device details tree"));
			++t;
		} else {
			if (!options_.skip_mappings) {
				auto count = walk.mapping_count(devices[t]);
				if (count && *count != details[d].details.mapped_blocks)
					findings_.report(severity::fatal, "mapped_blocks",
					                 cat(where, "thin device ", devices[t].id, ": its details say ",
					                     details[d].details.mapped_blocks, " mapped blocks, but its mapping tree holds ",
					                     *count));
			}
			++d;
			++t;
		}
	}
}

void checker::walk_metadata(reference_walk& walk, check_findings& findings, bool compare_counts,
                            stored_space_map& metadata_sm)
{
	const superblock& trees = options_.metadata_snap ? snap_ : sb_;
	walk.skip_bottom_trees(options_.skip_mappings);
	walk.count_reference(thin::superblock_location, "the superblock");
	if (!options_.metadata_snap && sb_.metadata_snap) {
		walk.count_reference(sb_.metadata_snap, "the superblock's metadata snapshot field");
		if (snap_ok_) {
			walk.add_tree(snap_.device_details_root, tree_kind::details, true);
			walk.add_tree(snap_.data_mapping_root, tree_kind::mapping_top, true);
		}
	}
	walk.add_tree(options_.override_details_root.value_or(trees.device_details_root), tree_kind::details,
	              options_.metadata_snap);
	walk.add_tree(options_.override_mapping_root.value_or(trees.data_mapping_root), tree_kind::mapping_top,
	              options_.metadata_snap);
	if (compare_counts)
		queue_space_map_structures(walk, findings, metadata_sm);
	walk.run(progress_, sb_.metadata_sm.nr_allocated);
}

stored_space_map checker::data_space_map(const reference_walk& walk) const
{
	stored_space_map sm;
	sm.name = "data";
	sm.nr_blocks = sb_.data_sm.nr_blocks;
	sm.nr_allocated = sb_.data_sm.nr_allocated;
	sm.bitmaps = walk.data_bitmaps();
	sm.ref_count_root = sb_.data_sm.ref_count_root;
	sm.ref_counts = walk.ref_counts(tree_kind::data_ref_counts);
	sm.overflow = walk.data_overflow();
	return sm;
}

void checker::walk_trees()
{
	bool compare_counts = !options_.metadata_snap && !options_.skip_mappings && !options_.override_mapping_root &&
	                      !options_.override_details_root;
	uint64_t nr_metadata_blocks = std::min(sb_.metadata_sm.nr_blocks, dev_.nr_blocks());

	// The data blocks' references are only fingerprinted (see data_tally),
	// and counted on a second walk where the data space map differs.
	std::optional<reference_walk> walk;
	walk.emplace(dev_, nr_metadata_blocks, sb_.data_sm.nr_blocks, findings_, data_tally::fingerprint);
	stored_space_map metadata_sm;
	listener_.stage("examining devices tree");
	listener_.stage("examining mapping tree");
	walk_metadata(*walk, findings_, compare_counts, metadata_sm);

	cross_check_devices(*walk, options_.metadata_snap);
	if (!options_.metadata_snap && snap_ok_)
		cross_check_devices(*walk, true);

	if (!compare_counts)
		return;
	if (findings_.any_fatal()) {
		findings_.report(severity::warning, "space maps not checked",
		                 "space map reference counts were not compared: the damage above makes the recount "
		                 "incomplete");
		return;
	}
	listener_.stage("checking space map counts");
	metadata_sm.ref_count_root = sb_.metadata_sm.ref_count_root;
	metadata_sm.ref_counts = walk->ref_counts(tree_kind::metadata_ref_counts);
	check_space_map(dev_, metadata_sm, counted_references(walk->metadata_counts()), findings_, progress_,
	                options_.auto_repair ? &leaked_metadata_ : nullptr);

	if (check_space_map_references(dev_, data_space_map(*walk), walk->data_references(), findings_, progress_))
		return;

	// The second walk finds nothing the first did not: what it would report
	// is dropped.
	walk.reset();
	listener_.stage("counting the references to each data block, to name those the data space map has wrong");
	quiet_listener quiet;
	check_findings found_again(quiet);
	reference_walk recount(dev_, nr_metadata_blocks, sb_.data_sm.nr_blocks, found_again, data_tally::counts);
	stored_space_map unused;
	walk_metadata(recount, found_again, true, unused);
	check_space_map(dev_, data_space_map(recount), counted_references(recount.data_counts()), findings_, progress_,
	                options_.auto_repair ? &leaked_data_ : nullptr);
}

check_outcome checker::run()
{
	check_outcome out;
	bool sound = check_live_superblock();
	if (sound && options_.metadata_snap) {
		if (!sb_.metadata_snap)
			throw error(cat(dev_.path(), ": there is no metadata snapshot to check (the superblock holds none)"));
		sound = read_superblock(sb_.metadata_snap, snap_, "metadata snapshot superblock");
	}
	if (sound && !options_.super_block_only)
		walk_trees();

	out.verdict = findings_.verdict();
	out.needs_check = sb_.needs_check();
	out.full = !options_.super_block_only && !options_.metadata_snap && !options_.skip_mappings &&
	           !options_.override_mapping_root && !options_.override_details_root;
	out.data_block_size = sb_.data_block_size;
	out.leaked_metadata = std::move(leaked_metadata_);
	out.leaked_data = std::move(leaked_data_);
	return out;
}

// Frees leaked blocks through the transaction manager: the space maps'
// changed blocks are written to free blocks and the superblock last, so a
// crash leaves the old metadata or the new, never a mix.
void release_leaks(const check_options& options, const check_outcome& found)
{
	io::block_device dev = io::block_device::open(options.path, io::access::read_write);
	thin::pool_open_options open;
	open.data_block_size = found.data_block_size;
	open.format = false;
	thin::pool_metadata pool(dev, open);
	pool.release_leaked_blocks(found.leaked_metadata, found.leaked_data);
	pool.close();
}

void clear_needs_check(const std::string& path)
{
	io::block_device dev = io::block_device::open(path, io::access::read_write);
	io::aligned_buffer block(1);
	dev.read_block(thin::superblock_location, block.data());
	auto sb = superblock::decode(block.data());
	thin::set_superblock_flags(block.data(), sb.flags & ~thin::needs_check_flag);
	dev.write_block(thin::superblock_location, block.data());
	dev.flush();
}

check_outcome check_once(const check_options& options, check_listener& listener, progress_sink& progress)
{
	// The checker's device is closed when it goes, before anything reopens
	// it for writing (a block device opened exclusively twice is busy).
	checker c(options, listener, progress);
	return c.run();
}

}

check_verdict check_metadata(const check_options& options, check_listener& listener, progress_sink& progress)
{
	check_outcome found = check_once(options, listener, progress);
	bool leaks = !found.leaked_metadata.empty() || !found.leaked_data.empty();
	if (options.auto_repair && leaks) {
		if (found.verdict.fatal || !found.full) {
			listener.finding(severity::warning, "nothing was repaired: --auto-repair only frees leaked blocks, and "
			                                    "the metadata has worse problems (thin_repair rebuilds it)");
		} else {
			release_leaks(options, found);
			listener.finding(severity::warning, cat("freed ", found.leaked_metadata.size(), " leaked metadata blocks and ",
			                                        found.leaked_data.size(), " leaked data blocks"));
			listener.stage("checking again after the repair");
			check_options again = options;
			again.auto_repair = false;
			found = check_once(again, listener, progress);
		}
	}

	bool clear = options.clear_needs_check_flag || options.auto_repair;
	if (clear && found.needs_check) {
		if (!found.verdict.passed(options.ignore_non_fatal_errors))
			listener.finding(severity::warning, "the needs_check flag was left set: the check did not pass");
		else if (!found.full)
			listener.finding(severity::warning,
			                 "the needs_check flag was left set: clearing it needs a full check of the live metadata");
		else {
			clear_needs_check(options.path);
			found.verdict.needs_check_cleared = true;
		}
	}
	return found.verdict;
}

}
