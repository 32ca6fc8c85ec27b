#include "ops/space_map_check.h"

#include <algorithm>
#include <numeric>

#include "base/endian.h"
#include "base/text.h"
#include "io/aligned_buffer.h"
#include "pdata/btree_node.h"

namespace thinmeta::ops {

using pdata::entries_per_bitmap;

namespace {

constexpr size_t bitmaps_per_batch = 256;
constexpr size_t leaves_per_batch = 64;

// The (block, count) entries of a ref-count tree in key order, read leaf by
// leaf in batches.
class ref_count_stream {
public:
	ref_count_stream(const io::block_device& dev, const std::vector<ordered_leaf>& leaves)
	    : dev_(dev), leaves_(leaves), buffer_(leaves_per_batch)
	{
		load();
	}

	bool done() const { return leaf_ >= leaves_.size(); }
	uint64_t key() const { return node().key(entry_); }
	uint32_t count() const { return node().value32(entry_); }
	void advance()
	{
		if (++entry_ >= node().nr_entries()) {
			entry_ = 0;
			++leaf_;
			if (leaf_ - first_ >= loaded_)
				load();
		}
	}

private:
	pdata::node_view node() const { return pdata::node_view(buffer_.block(slot_[leaf_ - first_])); }

	void load()
	{
		first_ = leaf_;
		loaded_ = std::min(leaves_per_batch, leaves_.size() - std::min(leaves_.size(), leaf_));
		if (!loaded_)
			return;
		std::vector<size_t> order(loaded_);
		std::iota(order.begin(), order.end(), size_t(0));
		std::sort(order.begin(), order.end(),
		          [&](size_t a, size_t b) { return leaves_[first_ + a].block < leaves_[first_ + b].block; });
		std::vector<block_address> blocks(loaded_);
		slot_.assign(loaded_, 0);
		for (size_t k = 0; k < loaded_; ++k) {
			blocks[k] = leaves_[first_ + order[k]].block;
			slot_[order[k]] = k;
		}
		dev_.read_blocks(blocks, buffer_.data());
		// Empty leaves have no entries to give.
		while (leaf_ < first_ + loaded_ && node().nr_entries() == 0)
			++leaf_;
		if (leaf_ - first_ >= loaded_ && leaf_ < leaves_.size())
			load();
	}

	const io::block_device& dev_;
	const std::vector<ordered_leaf>& leaves_;
	io::aligned_buffer buffer_;
	std::vector<size_t> slot_;
	size_t first_ = 0;
	size_t loaded_ = 0;
	size_t leaf_ = 0;
	uint32_t entry_ = 0;
};

class comparison {
public:
	comparison(const stored_space_map& sm, check_findings& findings) : sm_(sm), findings_(findings) {}

	void compare(uint64_t block, uint32_t stored, uint32_t expected)
	{
		if (stored)
			++allocated_;
		if (stored == expected)
			return;
		if (expected == 0) {
			++leaked_;
			findings_.report(severity::non_fatal, sm_.name + " leak",
			                 cat(sm_.name, " block ", block, " is marked in use (count ", stored,
			                     ") but nothing refers to it: it is leaked"));
			return;
		}
		++wrong_;
		findings_.report(severity::fatal, sm_.name + " reference count",
		                 cat(sm_.name, " block ", block, ": reference count ", stored, " in the space map, but ",
		                     expected, " references found",
		                     stored < expected ? " (it could be handed out again while still in use)" : ""));
	}

	void finish()
	{
		if (leaked_)
			findings_.report(severity::warning, sm_.name + " summary",
			                 cat(leaked_, " ", sm_.name, " blocks are leaked in all"));
		if (wrong_)
			findings_.report(severity::warning, sm_.name + " summary",
			                 cat(wrong_, " ", sm_.name, " blocks have wrong reference counts in all"));
		if (complete_ && allocated_ != sm_.nr_allocated)
			findings_.report(severity::warning, sm_.name + " nr_allocated",
			                 cat("the ", sm_.name, " space map says ", sm_.nr_allocated,
			                     " blocks are in use, but its bitmaps count ", allocated_));
	}

	void incomplete() { complete_ = false; }

private:
	const stored_space_map& sm_;
	check_findings& findings_;
	uint64_t allocated_ = 0;
	uint64_t leaked_ = 0;
	uint64_t wrong_ = 0;
	bool complete_ = true;
};

}

void check_space_map(const io::block_device& dev, const stored_space_map& sm, const expected_counts& expected,
                     check_findings& findings, progress_sink& progress)
{
	uint64_t nr_bitmaps = pdata::nr_bitmaps_for(sm.nr_blocks);
	ref_count_stream overflow(dev, sm.ref_count_leaves);
	comparison cmp(sm, findings);
	io::aligned_buffer buffer(bitmaps_per_batch);
	std::vector<uint32_t> want(entries_per_bitmap);
	std::vector<block_address> to_read;
	std::vector<size_t> slot;

	auto stale_overflow_before = [&](uint64_t limit) {
		while (!overflow.done() && overflow.key() < limit) {
			findings.report(severity::warning, sm.name + " ref-count tree",
			                cat(sm.name, " space map: the ref-count tree holds a count for block ", overflow.key(),
			                    " but its bitmap does not refer to it"));
			overflow.advance();
		}
	};

	for (uint64_t first = 0; first < nr_bitmaps; first += bitmaps_per_batch) {
		size_t n = static_cast<size_t>(std::min<uint64_t>(bitmaps_per_batch, nr_bitmaps - first));
		to_read.clear();
		slot.assign(n, SIZE_MAX);
		std::vector<size_t> order;
		for (size_t k = 0; k < n; ++k) {
			block_address b = sm.bitmaps[first + k].blocknr;
			if (b != 0 && b < dev.nr_blocks())
				order.push_back(k);
		}
		std::sort(order.begin(), order.end(),
		          [&](size_t a, size_t b) { return sm.bitmaps[first + a].blocknr < sm.bitmaps[first + b].blocknr; });
		for (size_t k : order) {
			slot[k] = to_read.size();
			to_read.push_back(sm.bitmaps[first + k].blocknr);
		}
		dev.read_blocks(to_read, buffer.data());

		for (size_t k = 0; k < n; ++k) {
			uint64_t index = first + k;
			uint64_t base = index * entries_per_bitmap;
			uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(entries_per_bitmap, sm.nr_blocks - base));
			block_address where = sm.bitmaps[index].blocknr;
			std::string fault;
			if (slot[k] == SIZE_MAX)
				fault = where ? cat("is at block ", where, ", past the end of the metadata") : "is missing";
			else
				fault = pdata::check_bitmap_block(buffer.block(slot[k]), where);
			if (!fault.empty()) {
				findings.report(severity::fatal, sm.name + " bitmap",
				                cat(sm.name, " space map bitmap ", index, " (blocks ", base, "..", base + count - 1,
				                    ", at block ", where, ") ", fault));
				findings.damaged_block(where);
				cmp.incomplete();
				while (!overflow.done() && overflow.key() < base + count)
					overflow.advance();
				continue;
			}
			const uint8_t* bitmap = buffer.block(slot[k]);
			expected.get(base, count, want.data());
			for (uint32_t e = 0; e < count; ++e) {
				uint32_t stored = pdata::bitmap_entry(bitmap, e);
				uint64_t b = base + e;
				if (stored == pdata::overflow_marker) {
					stale_overflow_before(b);
					if (!overflow.done() && overflow.key() == b) {
						stored = overflow.count();
						overflow.advance();
					} else {
						findings.report(severity::fatal, sm.name + " ref-count tree",
						                cat(sm.name, " block ", b, ": its bitmap says the count is 3 or more, but the ",
						                    "ref-count tree has no entry for it"));
						continue;
					}
				}
				cmp.compare(b, stored, want[e]);
			}
		}
		progress.update(cat("checking ", sm.name, " space map"), first + n, nr_bitmaps);
	}
	stale_overflow_before(UINT64_MAX);
	cmp.finish();
}

}
