#include "ops/space_map_check.h"

#include <algorithm>
#include <numeric>

#include "base/endian.h"
#include "base/text.h"
#include "io/aligned_buffer.h"
#include "io/read_ahead.h"
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
	comparison(const stored_space_map& sm, check_findings& findings, std::vector<uint64_t>* leaked)
	    : sm_(sm), findings_(findings), leaked_blocks_(leaked)
	{
	}

	// The common case, kept cheap: the stored count is what was expected.
	void agree(uint32_t stored) { allocated_ += stored != 0; }

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

}

namespace {

// The four 2-bit counts packed in each possible bitmap byte.
struct byte_decoder {
	uint8_t counts[256][4];
	byte_decoder()
	{
		for (unsigned byte = 0; byte < 256; ++byte) {
			uint8_t one[block_size] = {};
			one[pdata::bitmap_header_size] = static_cast<uint8_t>(byte);
			for (uint32_t e = 0; e < 4; ++e)
				counts[byte][e] = static_cast<uint8_t>(pdata::bitmap_entry(one, e));
		}
	}
};

}

void check_space_map(const io::block_device& dev, const stored_space_map& sm, const expected_counts& expected,
                     check_findings& findings, progress_sink& progress, std::vector<uint64_t>* leaked)
{
	static const byte_decoder decode;
	uint64_t nr_bitmaps = pdata::nr_bitmaps_for(sm.nr_blocks);
	ref_count_stream overflow(dev, sm.ref_count_leaves);
	comparison cmp(sm, findings, leaked);
	std::vector<uint32_t> want(entries_per_bitmap);

	auto stale_overflow_before = [&](uint64_t limit) {
		while (!overflow.done() && overflow.key() < limit) {
			findings.report(severity::warning, sm.name + " ref-count tree",
			                cat(sm.name, " space map: the ref-count tree holds a count for block ", overflow.key(),
			                    " but its bitmap does not refer to it"));
			overflow.advance();
		}
	};

	// Bitmaps are read in index order, a batch ahead, and their checksums
	// verified on the reader thread.
	std::vector<block_address> blocks;
	for (uint64_t i = 0; i < nr_bitmaps; ++i) {
		block_address b = sm.bitmaps[i].blocknr;
		if (b != 0 && b < dev.nr_blocks())
			blocks.push_back(b);
	}
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
	for (uint64_t index = 0; index < nr_bitmaps; ++index) {
		uint64_t base = index * entries_per_bitmap;
		uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(entries_per_bitmap, sm.nr_blocks - base));
		block_address where = sm.bitmaps[index].blocknr;
		std::string fault;
		const uint8_t* bitmap = nullptr;
		if (where == 0 || where >= dev.nr_blocks()) {
			fault = where ? cat("is at block ", where, ", past the end of the metadata") : "is missing";
		} else {
			if (!batch || in_batch == batches[batch_index].size()) {
				if (batch)
					++batch_index;
				batch = reader.next();
				in_batch = 0;
			}
			bitmap = batch + in_batch * block_size;
			fault = faults[batch_index][in_batch++];
		}
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

		expected.get(base, count, want.data());
		const uint8_t* bytes = bitmap + pdata::bitmap_header_size;
		for (uint32_t e = 0; e < count; ++e) {
			uint32_t stored = decode.counts[bytes[e / 4]][e % 4];
			if (stored == want[e] && stored != pdata::overflow_marker) {
				cmp.agree(stored);
				continue;
			}
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
		progress.update(cat("checking ", sm.name, " space map"), index + 1, nr_bitmaps);
	}
	stale_overflow_before(UINT64_MAX);
	cmp.finish();
}

}
