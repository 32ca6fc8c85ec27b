#include "ops/space_map_check.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <exception>
#include <numeric>
#include <thread>
#include <utility>

#include "base/endian.h"
#include "base/multiset_fingerprint.h"
#include "base/text.h"
#include "io/aligned_buffer.h"
#include "io/read_ahead.h"
#include "ops/ref_count_summary.h"
#include "pdata/btree_node.h"
#include "pdata/btree_leaves.h"
#include "pdata/space_map_disk.h"

namespace thinmeta::ops {

using pdata::entries_per_bitmap;

namespace {

constexpr size_t bitmaps_per_batch = 256;
constexpr size_t leaves_per_batch = 64;

// The (block, count) entries of a ref-count tree in key order, read leaf by
// leaf in batches.
class ref_count_stream {
public:
	ref_count_stream(const io::block_device& dev, std::vector<block_address> leaves)
	    : dev_(dev), leaves_(std::move(leaves)), buffer_(leaves_per_batch)
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
		          [&](size_t a, size_t b) { return leaves_[first_ + a] < leaves_[first_ + b]; });
		std::vector<block_address> blocks(loaded_);
		slot_.assign(loaded_, 0);
		for (size_t k = 0; k < loaded_; ++k) {
			blocks[k] = leaves_[first_ + order[k]];
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
	const std::vector<block_address> leaves_;
	io::aligned_buffer buffer_;
	std::vector<size_t> slot_;
	size_t first_ = 0;
	size_t loaded_ = 0;
	size_t leaf_ = 0;
	uint32_t entry_ = 0;
};

class comparison {
public:
	comparison(const stored_space_map& sm, check_findings& findings, std::vector<uint64_t>* leaked)
	    : sm_(sm), findings_(findings), leaked_blocks_(leaked)
	{
	}

	// Blocks found in use whose stored counts were what was expected.
	void add_in_use(uint64_t blocks) { allocated_ += blocks; }

	void compare(uint64_t block, uint32_t stored, uint32_t expected)
	{
		if (stored)
			++allocated_;
		if (stored == expected)
			return;
		if (expected == 0) {
			++leaked_;
			if (leaked_blocks_)
				leaked_blocks_->push_back(block);
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
	std::vector<uint64_t>* leaked_blocks_;
	uint64_t allocated_ = 0;
	uint64_t leaked_ = 0;
	uint64_t wrong_ = 0;
	bool complete_ = true;
};

// The four 2-bit counts packed in each possible bitmap byte.
struct byte_decoder {
	uint8_t counts[256][4];
	uint8_t in_use[256];     // counts of 1 and 2
	bool overflow[256];      // some count is 3: "look in the ref-count tree"
	byte_decoder()
	{
		for (unsigned byte = 0; byte < 256; ++byte) {
			uint8_t one[block_size] = {};
			one[pdata::bitmap_header_size] = static_cast<uint8_t>(byte);
			in_use[byte] = 0;
			overflow[byte] = false;
			for (uint32_t e = 0; e < 4; ++e) {
				unsigned count = pdata::bitmap_entry(one, e);
				counts[byte][e] = static_cast<uint8_t>(count);
				in_use[byte] = static_cast<uint8_t>(in_use[byte] + (count == 1 || count == 2));
				overflow[byte] |= count == pdata::overflow_marker;
			}
		}
	}
};

const byte_decoder decode;

// Each bitmap of the space map with its blocks' range; `bitmap` is null
// (and `fault` says why) where the bitmap cannot be used.
struct bitmap_visit {
	uint64_t index = 0;
	uint64_t base = 0;
	uint32_t count = 0;
	block_address where = 0;
	const uint8_t* bitmap = nullptr;
	std::string fault;
};

// The bitmap numbers [first, end).
std::vector<uint64_t> bitmap_range(uint64_t first, uint64_t end)
{
	std::vector<uint64_t> indices(end - first);
	std::iota(indices.begin(), indices.end(), first);
	return indices;
}

// Reads the bitmaps numbered in `indices` (ascending), a batch ahead, their
// checksums verified off this thread, and calls fn(const bitmap_visit&)
// for each.
template <typename Fn>
void for_each_bitmap(const io::block_device& dev, const stored_space_map& sm, const std::vector<uint64_t>& indices,
                     Fn&& fn)
{
	auto stored_at = [&](uint64_t index) {
		block_address b = sm.bitmaps[index].blocknr;
		return b != 0 && b < dev.nr_blocks() ? b : 0;
	};
	std::vector<block_address> blocks;
	for (uint64_t index : indices)
		if (block_address b = stored_at(index))
			blocks.push_back(b);
	std::vector<std::span<const block_address>> batches;
	for (size_t k = 0; k * bitmaps_per_batch < blocks.size(); ++k)
		batches.emplace_back(blocks.data() + k * bitmaps_per_batch,
		                     std::min(bitmaps_per_batch, blocks.size() - k * bitmaps_per_batch));
	std::vector<std::vector<std::string>> faults(batches.size());
	io::read_ahead reader(dev, batches, [&](size_t k, const uint8_t* data, size_t n) {
		faults[k].resize(n);
		for (size_t j = 0; j < n; ++j)
			faults[k][j] = pdata::check_bitmap_block(data + j * block_size, batches[k][j]);
	});

	const uint8_t* batch = nullptr;
	size_t batch_index = 0, in_batch = 0;
	bitmap_visit v;
	for (uint64_t index : indices) {
		v.index = index;
		v.base = index * entries_per_bitmap;
		v.count = static_cast<uint32_t>(std::min<uint64_t>(entries_per_bitmap, sm.nr_blocks - v.base));
		v.where = sm.bitmaps[index].blocknr;
		v.bitmap = nullptr;
		if (!stored_at(index)) {
			v.fault = v.where ? cat("is at block ", v.where, ", past the end of the metadata") : "is missing";
		} else {
			if (!batch || in_batch == batches[batch_index].size()) {
				if (batch)
					++batch_index;
				batch = reader.next();
				in_batch = 0;
			}
			v.fault = std::move(faults[batch_index][in_batch]);
			if (v.fault.empty())
				v.bitmap = batch + in_batch * block_size;
			++in_batch;
		}
		fn(static_cast<const bitmap_visit&>(v));
	}
}

// The exact comparison of the blocks whose bitmap entries say "3 or more"
// with the ref-count tree, read in key order: run when the fingerprints
// differ, to name each block that disagrees.
void compare_overflow(const io::block_device& dev, const stored_space_map& sm, const expected_counts& expected,
                      comparison& cmp, check_findings& findings, progress_sink& progress)
{
	ref_count_stream overflow(dev, pdata::leaf_blocks(dev, sm.ref_count_root, pdata::ref_count_value_size));
	auto stale_overflow_before = [&](uint64_t limit) {
		while (!overflow.done() && overflow.key() < limit) {
			findings.report(severity::warning, sm.name + " ref-count tree",
			                cat(sm.name, " space map: the ref-count tree holds a count for block ", overflow.key(),
			                    " but its bitmap does not refer to it"));
			overflow.advance();
		}
	};
	std::vector<uint32_t> want(entries_per_bitmap);
	uint64_t nr_bitmaps = pdata::nr_bitmaps_for(sm.nr_blocks);
	for_each_bitmap(dev, sm, bitmap_range(0, nr_bitmaps), [&](const bitmap_visit& v) {
		if (!v.bitmap) {
			// Reported by the first pass; the tree's entries there go unchecked.
			while (!overflow.done() && overflow.key() < v.base + v.count)
				overflow.advance();
			return;
		}
		expected.get(v.base, v.count, want.data());
		const uint8_t* bytes = v.bitmap + pdata::bitmap_header_size;
		for (uint32_t e = 0; e < v.count; ++e) {
			if (decode.counts[bytes[e / 4]][e % 4] != pdata::overflow_marker)
				continue;
			uint64_t b = v.base + e;
			stale_overflow_before(b);
			if (overflow.done() || overflow.key() != b) {
				findings.report(severity::fatal, sm.name + " ref-count tree",
				                cat(sm.name, " block ", b, ": its bitmap says the count is 3 or more, but the ",
				                    "ref-count tree has no entry for it"));
				continue;
			}
			cmp.compare(b, overflow.count(), want[e]);
			overflow.advance();
		}
		progress.update(cat("checking ", sm.name, " space map's ref-count tree"), v.index + 1, nr_bitmaps);
	});
	stale_overflow_before(UINT64_MAX);
}

// Compares bitmaps with the expected counts, a byte (four entries) at a
// time, and keeps the tallies of the bitmaps compared: blocks in use, and
// the fingerprint of the expected counts of entries of 3, for the ref-count
// tree's.
class bitmap_comparer {
public:
	explicit bitmap_comparer(const expected_counts& expected)
	    : expected_(expected), want_(entries_per_bitmap), want_bytes_(entries_per_bitmap / 4)
	{
	}

	// Reports each entry that differs to cmp.
	void compare(const bitmap_visit& v, comparison& cmp)
	{
		fetch_expected_bytes(v);
		tally(v, &cmp);
	}

	// Tallies the bitmap when every entry is what the counts make and
	// returns true; else returns false, having tallied nothing.
	bool compare_if_equal(const bitmap_visit& v)
	{
		if (v.count % 4)
			return false;
		fetch_expected_bytes(v);
		if (std::memcmp(v.bitmap + pdata::bitmap_header_size, want_bytes_.data(), v.count / 4) != 0)
			return false;
		tally(v, nullptr);
		return true;
	}

	// Blocks in use in the bitmaps compared, but for entries of 3 and entries
	// that differ (those go to overflow_in_use and the comparison).
	uint64_t in_use() const { return in_use_; }
	const ref_count_summary& expected_overflow() const { return expected_overflow_; }
	uint64_t overflow_in_use() const { return overflow_in_use_; }

	void add(const bitmap_comparer& other)
	{
		in_use_ += other.in_use_;
		expected_overflow_ += other.expected_overflow_;
		overflow_in_use_ += other.overflow_in_use_;
	}

private:
	void fetch_expected_bytes(const bitmap_visit& v)
	{
		expected_.get_bitmap_bytes(v.base, v.count / 4 * 4, want_bytes_.data());
	}

	// cmp may be null only where no entry differs.
	void tally(const bitmap_visit& v, comparison* cmp)
	{
		const uint8_t* bytes = v.bitmap + pdata::bitmap_header_size;
		uint32_t nr_bytes = v.count / 4;  // whole bytes; the last may hold fewer entries
		// The exact expected counts, fetched once a bitmap needs them: for
		// entries that differ, and for entries of 3 (about half the bytes
		// of a pool with many snapshots hold one).
		bool have_counts = false;
		auto count = [&](uint32_t e) {
			if (!std::exchange(have_counts, true))
				expected_.get(v.base, v.count, want_.data());
			return want_[e];
		};
		// An entry of 3: its expected count is fingerprinted for the
		// ref-count tree's.
		auto expect_overflow = [&](uint32_t e) {
			uint32_t n = count(e);
			expected_overflow_.add(v.base + e, n);
			overflow_in_use_ += n != 0;
		};
		auto one_entry = [&](uint32_t e) {
			uint32_t stored = decode.counts[bytes[e / 4]][e % 4];
			if (stored == pdata::overflow_marker)
				expect_overflow(e);
			else
				cmp->compare(v.base + e, stored, count(e));
		};
		// Eight bytes at a time where they are what the expected counts make
		// (nearly always), else a byte at a time, and an entry at a time in a
		// byte that differs. Entries of 1 or 2 have one of their two bits
		// set, entries of 3 both.
		constexpr uint64_t low_bits = 0x5555555555555555;
		uint64_t in_use = 0;
		uint32_t i = 0;
		while (i < nr_bytes) {
			if (i + 8 <= nr_bytes) {
				uint64_t stored, wanted;
				std::memcpy(&stored, bytes + i, 8);
				std::memcpy(&wanted, want_bytes_.data() + i, 8);
				if (stored == wanted) {
					in_use += static_cast<uint64_t>(std::popcount((stored ^ (stored >> 1)) & low_bits));
					for (uint64_t threes = stored & (stored >> 1) & low_bits; threes; threes &= threes - 1)
						expect_overflow(4 * i + static_cast<uint32_t>(std::countr_zero(threes)) / 2);
					i += 8;
					continue;
				}
			}
			for (uint32_t end = std::min(nr_bytes, i + 8); i < end; ++i) {
				uint8_t byte = bytes[i];
				if (byte == want_bytes_[i]) {
					in_use += decode.in_use[byte];
					if (decode.overflow[byte])
						for (uint32_t e = 4 * i; e < 4 * i + 4; ++e)
							if (decode.counts[byte][e % 4] == pdata::overflow_marker)
								expect_overflow(e);
				} else {
					for (uint32_t e = 4 * i; e < 4 * i + 4; ++e)
						one_entry(e);
				}
			}
		}
		for (uint32_t e = 4 * nr_bytes; e < v.count; ++e)
			one_entry(e);
		in_use_ += in_use;
	}

	const expected_counts& expected_;
	std::vector<uint32_t> want_;
	std::vector<uint8_t> want_bytes_;
	uint64_t in_use_ = 0;
	ref_count_summary expected_overflow_;
	uint64_t overflow_in_use_ = 0;
};

// Reads every bitmap with the work shared by both cores: nothing else runs
// at this point of a check (the data space map of sim-4g took 0.2 s on one
// core). Groups of a read batch are taken in turn; halves by block number
// would not do: pools fill their data devices from the start. Calls
// visit(v, core), core 0 on this thread (which shows progress) and core 1
// on a helper.
template <typename Visit>
void visit_bitmaps_on_both_cores(const io::block_device& dev, const stored_space_map& sm, progress_sink& progress,
                                 Visit&& visit)
{
	constexpr uint64_t bitmaps_on_one_core = 2 * bitmaps_per_batch;
	uint64_t nr_bitmaps = pdata::nr_bitmaps_for(sm.nr_blocks);
	std::vector<uint64_t> shares[2];
	for (uint64_t i = 0; i < nr_bitmaps; ++i) {
		bool turn_about = nr_bitmaps > bitmaps_on_one_core && (i / bitmaps_per_batch) % 2;
		shares[turn_about].push_back(i);
	}
	std::exception_ptr their_failure;
	{
		std::jthread helper;
		if (!shares[1].empty())
			helper = std::jthread([&] {
				try {
					for_each_bitmap(dev, sm, shares[1], [&](const bitmap_visit& v) { visit(v, 1); });
				} catch (...) {
					their_failure = std::current_exception();
				}
			});
		for_each_bitmap(dev, sm, shares[0], [&](const bitmap_visit& v) {
			visit(v, 0);
			progress.update(cat("checking ", sm.name, " space map"), v.index + 1, nr_bitmaps);
		});
	}
	if (their_failure)
		std::rethrow_exception(their_failure);
}

}

void check_space_map(const io::block_device& dev, const stored_space_map& sm, const expected_counts& expected,
                     check_findings& findings, progress_sink& progress, std::vector<uint64_t>* leaked)
{
	comparison cmp(sm, findings, leaked);
	// Both cores compare bitmaps quietly and set aside those that differ
	// from the expected counts or cannot be used (rare); this thread then
	// compares those again in block order, reporting what it finds.
	bitmap_comparer comparers[2] = {bitmap_comparer(expected), bitmap_comparer(expected)};
	std::vector<uint64_t> set_aside[2];
	visit_bitmaps_on_both_cores(dev, sm, progress, [&](const bitmap_visit& v, int core) {
		if (!v.bitmap || !comparers[core].compare_if_equal(v))
			set_aside[core].push_back(v.index);
	});
	bitmap_comparer& comparer = comparers[0];
	comparer.add(comparers[1]);
	set_aside[0].insert(set_aside[0].end(), set_aside[1].begin(), set_aside[1].end());
	std::sort(set_aside[0].begin(), set_aside[0].end());
	for_each_bitmap(dev, sm, set_aside[0], [&](const bitmap_visit& v) {
		if (v.bitmap) {
			comparer.compare(v, cmp);
			return;
		}
		findings.report(severity::fatal, sm.name + " bitmap",
		                cat(sm.name, " space map bitmap ", v.index, " (blocks ", v.base, "..", v.base + v.count - 1,
		                    ", at block ", v.where, ") ", v.fault));
		findings.damaged_block(v.where);
		cmp.incomplete();
	});

	cmp.add_in_use(comparer.in_use());
	// Entries of 3 or more are looked up in the ref-count tree only when its
	// fingerprint differs from that of the expected counts (see
	// ref_count_summary): the walk has read the tree once already.
	if (comparer.expected_overflow() == sm.ref_counts)
		cmp.add_in_use(comparer.overflow_in_use());
	else
		compare_overflow(dev, sm, expected, cmp, findings, progress);
	cmp.finish();
}

bool check_space_map_references(const io::block_device& dev, const stored_space_map& sm,
                                const multiset_fingerprint& expected, check_findings& findings,
                                progress_sink& progress)
{
	// What the bitmaps store: references by entries of 1 and 2, the blocks
	// with entries of 3 (their counts are the tree's), and blocks in use.
	struct tally {
		multiset_fingerprint counted;
		multiset_fingerprint threes;
		uint64_t in_use = 0;
		bool unusable = false;
	} tallies[2];
	visit_bitmaps_on_both_cores(dev, sm, progress, [&](const bitmap_visit& v, int core) {
		tally& t = tallies[core];
		if (!v.bitmap) {
			t.unusable = true;
			return;
		}
		const uint8_t* bytes = v.bitmap + pdata::bitmap_header_size;
		t.in_use += t.counted.add_2bit_counts(bytes, v.base, v.count, t.threes);
	});
	const tally& ours = tallies[0];
	const tally& theirs = tallies[1];
	if (ours.unusable || theirs.unusable || ours.threes + theirs.threes != sm.overflow.blocks ||
	    ours.counted + theirs.counted + sm.overflow.references != expected)
		return false;

	// Every count is what the references make (a count of 3 or more is the
	// tree's, whatever it is); what is left to check is the space map's own
	// total.
	comparison cmp(sm, findings, nullptr);
	cmp.add_in_use(ours.in_use + theirs.in_use + sm.overflow.in_use);
	cmp.finish();
	return true;
}

}
