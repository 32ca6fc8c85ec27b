#include "pdata/space_map_writer.h"

#include <algorithm>
#include <array>

#include "base/endian.h"
#include "pdata/btree_builder.h"
#include "pdata/btree_node.h"

namespace thinmeta::pdata {

namespace {

using block_buffer = std::array<uint8_t, block_size>;

// Fills one bitmap block from counts of the blocks it covers and returns its
// index entry (without the bitmap's location). Counts of 3 or more are passed
// to `overflow` as they are met.
template <typename CountOf, typename Overflow>
index_entry fill_bitmap(uint8_t* bitmap, uint64_t first_block, uint32_t nr_entries, CountOf count_of,
                        Overflow overflow)
{
	std::fill(bitmap, bitmap + block_size, 0);
	index_entry entry;
	entry.none_free_before = nr_entries;
	for (uint32_t e = 0; e < nr_entries; ++e) {
		uint32_t count = count_of(first_block + e);
		if (!count) {
			++entry.nr_free;
			entry.none_free_before = std::min(entry.none_free_before, e);
			continue;
		}
		set_bitmap_entry(bitmap, e, bitmap_value_for(count));
		if (count >= overflow_marker)
			overflow(first_block + e, count);
	}
	return entry;
}

// Adds (block, count) to an overflow ref-count tree.
void push_count(btree_builder& tree, uint64_t b, uint32_t count)
{
	uint8_t value[ref_count_value_size];
	store_le32(value, count);
	tree.push(b, value);
}

uint32_t entries_in_bitmap(uint64_t nr_blocks, uint64_t bitmap)
{
	return static_cast<uint32_t>(std::min<uint64_t>(entries_per_bitmap, nr_blocks - bitmap * entries_per_bitmap));
}

}

sm_root write_data_space_map(bulk_block_writer& out, const ref_counter& counts)
{
	btree_builder index(out, index_entry_size);
	btree_builder overflow(out, ref_count_value_size);
	block_buffer bitmap;
	sm_root root;
	root.nr_blocks = counts.size();

	uint64_t nr_bitmaps = nr_bitmaps_for(counts.size());
	for (uint64_t i = 0; i < nr_bitmaps; ++i) {
		uint32_t n = entries_in_bitmap(counts.size(), i);
		index_entry entry = fill_bitmap(
		    bitmap.data(), i * entries_per_bitmap, n, [&](uint64_t b) { return counts.get(b); },
		    [&](uint64_t b, uint32_t count) { push_count(overflow, b, count); });
		root.nr_allocated += n - entry.nr_free;
		entry.blocknr = out.append(bitmap.data(), block_kind::bitmap);
		out.inc(entry.blocknr);
		uint8_t value[index_entry_size];
		entry.encode(value);
		index.push(i, value);
	}
	root.bitmap_root = index.finish();
	out.inc(root.bitmap_root);
	root.ref_count_root = overflow.finish();
	out.inc(root.ref_count_root);
	return root;
}

metadata_sm_layout plan_metadata_space_map(uint64_t nr_blocks)
{
	metadata_sm_layout layout;
	layout.nr_blocks = nr_blocks;
	return layout;
}

sm_root write_metadata_space_map(bulk_block_writer& out, const metadata_sm_layout& layout)
{
	out.inc(0);
	out.inc(layout.index_block);
	for (uint64_t i = 0; i < layout.nr_bitmaps(); ++i)
		out.inc(layout.first_bitmap + i);

	// Counts of 3 or more. The overflow tree's own nodes come after `end`
	// and count 1 each, so they never need an entry of their own.
	btree_builder overflow(out, ref_count_value_size);
	block_address end = out.nr_used();
	for (block_address b = 0; b < end; ++b) {
		uint32_t count = out.count(b);
		if (count >= overflow_marker)
			push_count(overflow, b, count);
	}
	sm_root root;
	root.nr_blocks = layout.nr_blocks;
	root.bitmap_root = layout.index_block;
	root.ref_count_root = overflow.finish();
	out.inc(root.ref_count_root);

	// Every count is final now: write the bitmaps and the index.
	block_buffer index;
	std::fill(index.begin(), index.end(), 0);
	block_buffer bitmap;
	for (uint64_t i = 0; i < layout.nr_bitmaps(); ++i) {
		uint32_t n = entries_in_bitmap(layout.nr_blocks, i);
		index_entry entry = fill_bitmap(
		    bitmap.data(), i * entries_per_bitmap, n, [&](uint64_t b) { return out.count(b); },
		    [](uint64_t, uint32_t) {});
		root.nr_allocated += n - entry.nr_free;
		entry.blocknr = layout.first_bitmap + i;
		out.write_at(entry.blocknr, bitmap.data(), block_kind::bitmap);
		entry.encode(index.data() + metadata_index_entry_offset(static_cast<uint32_t>(i)));
	}
	out.write_at(layout.index_block, index.data(), block_kind::index);
	return root;
}

}
