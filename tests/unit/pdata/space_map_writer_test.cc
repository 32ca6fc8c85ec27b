#include <catch2/catch.hpp>

#include <array>
#include <functional>
#include <map>
#include <optional>

#include "base/endian.h"
#include "io/block_device.h"
#include "pdata/block_checksum.h"
#include "pdata/btree_node.h"
#include "pdata/node_check.h"
#include "pdata/space_map_writer.h"
#include "pdata/scratch_image.h"

using namespace thinmeta;
using namespace thinmeta::pdata;
using thinmeta::test::scratch_image;

namespace {

using block_buffer = std::array<uint8_t, block_size>;

// Visits every leaf entry of a tree in key order, checking each node.
void walk_tree(bulk_block_writer& out, block_address root, uint32_t value_size,
               const std::function<void(uint64_t, const uint8_t*)>& visit,
               std::map<block_address, uint32_t>* nodes = nullptr)
{
	block_buffer raw;
	out.read(root, raw.data());
	REQUIRE(check_node(raw.data(), root, value_size) == "");
	if (nodes)
		++(*nodes)[root];
	node_view n(raw.data());
	for (uint32_t i = 0; i < n.nr_entries(); ++i) {
		if (n.is_internal())
			walk_tree(out, n.child(i), value_size, visit, nodes);
		else
			visit(n.key(i), n.value(i));
	}
}

// Checks one bitmap against the counts it should hold and its index entry.
void check_bitmap(bulk_block_writer& out, const index_entry& entry, uint64_t first, uint32_t n,
                  const std::function<uint32_t(uint64_t)>& count_of)
{
	block_buffer raw;
	out.read(entry.blocknr, raw.data());
	REQUIRE(check_bitmap_block(raw.data(), entry.blocknr) == "");
	uint32_t nr_free = 0;
	std::optional<uint32_t> first_free;
	for (uint32_t e = 0; e < entries_per_bitmap; ++e) {
		uint32_t count = e < n ? count_of(first + e) : 0;
		INFO("entry " << e << " of the bitmap for block " << first);
		REQUIRE(bitmap_entry(raw.data(), e) == std::min(count, 3u));
		if (e < n && count == 0) {
			++nr_free;
			if (!first_free)
				first_free = e;
		}
	}
	CHECK(entry.nr_free == nr_free);
	CHECK(entry.none_free_before == first_free.value_or(n));
}

uint32_t pattern_count(uint64_t b)
{
	switch (b % 11) {
	case 0:
		return 1;
	case 3:
		return 2;
	case 5:
		return 3;
	case 7:
		return b % 3 ? 4 : 300;
	case 8:
		return 255;
	default:
		return 0;
	}
}

}

TEST_CASE("write_data_space_map writes exact bitmaps, index and overflow tree", "[space_map_writer]")
{
	uint64_t nr_data = GENERATE(0, 1, 16320, 16321, 70000, 3'000'000);
	scratch_image img(2000);
	bulk_block_writer out(*img.dev, 2000, 1);

	ref_counter counts(nr_data);
	uint64_t expect_allocated = 0;
	std::map<uint64_t, uint32_t> expect_overflow;
	// A dense start, then sparse touches so most chunks stay unallocated.
	for (uint64_t b = 0; b < nr_data; b += (b < 50000 ? 1 : 9973)) {
		uint32_t c = pattern_count(b);
		for (uint32_t i = 0; i < c; ++i)
			counts.inc(b);
		if (c)
			++expect_allocated;
		if (c >= 3)
			expect_overflow[b] = c;
	}

	sm_root root = write_data_space_map(out, counts);
	out.flush();
	CHECK(root.nr_blocks == nr_data);
	CHECK(root.nr_allocated == expect_allocated);

	std::map<block_address, uint32_t> nodes;
	std::map<uint64_t, index_entry> index;
	walk_tree(
	    out, root.bitmap_root, index_entry_size,
	    [&](uint64_t key, const uint8_t* v) { index[key] = index_entry::decode(v); }, &nodes);
	REQUIRE(index.size() == nr_bitmaps_for(nr_data));
	for (const auto& [i, entry] : index) {
		uint64_t first = i * entries_per_bitmap;
		uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(entries_per_bitmap, nr_data - first));
		check_bitmap(out, entry, first, n, [&](uint64_t b) { return counts.get(b); });
		CHECK(out.count(entry.blocknr) == 1);
	}

	std::map<uint64_t, uint32_t> overflow;
	walk_tree(
	    out, root.ref_count_root, ref_count_value_size,
	    [&](uint64_t key, const uint8_t* v) { overflow[key] = load_le32(v); }, &nodes);
	CHECK(overflow == expect_overflow);
	for (const auto& [block, seen] : nodes) {
		INFO("node " << block);
		CHECK(out.count(block) == seen);
	}
}

TEST_CASE("write_metadata_space_map counts every block, its own included", "[space_map_writer]")
{
	uint64_t nr_blocks = GENERATE(20, 16320, 16321, 40000);
	scratch_image img(nr_blocks);
	metadata_sm_layout layout = plan_metadata_space_map(nr_blocks);
	CHECK(layout.index_block == 1);
	CHECK(layout.first_bitmap == 2);
	bulk_block_writer out(*img.dev, nr_blocks, layout.first_free(), 8);

	// Some blocks with assorted counts, one left unreferenced.
	block_buffer blank{};
	std::map<block_address, uint32_t> expect;
	for (int i = 0; i < 12; ++i) {
		block_address b = out.append(blank.data(), block_kind::bitmap);
		uint32_t c = i == 4 ? 0 : i % 5 == 0 ? 3 + i : 1 + i % 2;
		out.inc(b, c);
		expect[b] = c;
	}

	sm_root root = write_metadata_space_map(out, layout);
	out.flush();
	CHECK(root.nr_blocks == nr_blocks);
	CHECK(root.bitmap_root == layout.index_block);

	expect[0] = 1;
	expect[layout.index_block] = 1;
	for (uint64_t i = 0; i < layout.nr_bitmaps(); ++i)
		expect[layout.first_bitmap + i] = 1;
	std::map<uint64_t, uint32_t> overflow;
	std::map<block_address, uint32_t> nodes;
	walk_tree(
	    out, root.ref_count_root, ref_count_value_size,
	    [&](uint64_t key, const uint8_t* v) { overflow[key] = load_le32(v); }, &nodes);
	for (const auto& [block, seen] : nodes)
		expect[block] = seen;
	std::map<uint64_t, uint32_t> expect_overflow;
	uint64_t allocated = 0;
	for (const auto& [block, c] : expect) {
		if (c >= 3)
			expect_overflow[block] = c;
		if (c)
			++allocated;
	}
	CHECK(overflow == expect_overflow);
	CHECK(root.nr_allocated == allocated);
	CHECK(out.nr_used() == layout.first_free() + 12 + nodes.size());

	block_buffer index;
	out.device().read_block(layout.index_block, index.data());
	REQUIRE(check_index_block(index.data(), layout.index_block) == "");
	for (uint32_t i = 0; i < max_metadata_bitmaps; ++i) {
		index_entry entry = index_entry::decode(index.data() + metadata_index_entry_offset(i));
		if (i >= layout.nr_bitmaps()) {
			CHECK(entry == index_entry{});
			continue;
		}
		CHECK(entry.blocknr == layout.first_bitmap + i);
		uint64_t first = i * uint64_t(entries_per_bitmap);
		uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(entries_per_bitmap, nr_blocks - first));
		check_bitmap(out, entry, first, n, [&](uint64_t b) {
			auto it = expect.find(b);
			return it == expect.end() ? 0u : it->second;
		});
	}
}
