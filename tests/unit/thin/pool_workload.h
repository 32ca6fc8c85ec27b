// A deterministic workload through pool_metadata that exercises every
// metadata operation (splits of mapping and details trees, snapshots and
// the sharing they break, discards, deletes, the metadata snapshot, data
// device growth), with a hook at each explicit commit; and a reader that
// collects every block reachable from a metadata image's superblock, for
// crash tests and reference-count checks.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "io/memory_block_store.h"
#include "pdata/block_checksum.h"
#include "pdata/btree_node.h"
#include "thin/pool_metadata.h"
#include "thin/superblock.h"

namespace thinmeta::test {

// Called around every explicit commit with its number (1, 2, ...): before
// (true) and after (false). Returning false from the "before" call stops
// the workload right after that commit.
using commit_hook = std::function<bool(unsigned commit, bool before, thin::pool_metadata& pmd)>;

inline void run_pool_workload(io::block_store& store, const commit_hook& hook)
{
	thin::pool_metadata pmd(store, {128, true, 4096});
	unsigned nr = 0;
	bool go_on = true;
	auto commit = [&]() {
		if (!go_on)
			return;
		++nr;
		bool last = !hook(nr, true, pmd);
		pmd.commit();
		hook(nr, false, pmd);
		if (last)
			go_on = false;
	};
	auto write = [&](thin::thin_device td, uint64_t vblock) {
		if (!go_on)
			return;
		uint64_t d = pmd.alloc_data_block();
		pmd.insert_block(td, vblock, d);
	};

	pmd.resize_data_dev(3000);
	commit();
	pmd.create_thin(0);
	commit();
	thin::thin_device td0 = pmd.open_device(0);
	for (uint64_t i = 0; i < 700 && go_on; ++i) {
		write(td0, (i * 37) % 1000);
		if (i % 150 == 149)
			commit();
	}
	commit();
	if (!go_on)
		return;
	pmd.create_snap(1, 0);
	commit();
	for (uint64_t i = 0; i < 80 && go_on; ++i)
		write(td0, i * 11);
	commit();
	if (!go_on)
		return;
	for (uint64_t dev = 10; dev < 140; ++dev)
		pmd.create_thin(dev);
	commit();
	if (!go_on)
		return;
	pmd.reserve_metadata_snap();
	commit();
	if (!go_on)
		return;
	pmd.remove_range(td0, 100, 600);
	commit();
	if (!go_on)
		return;
	pmd.delete_device(1);
	for (uint64_t dev = 20; dev < 90; ++dev)
		pmd.delete_device(dev);
	commit();
	if (!go_on)
		return;
	for (uint64_t i = 0; i < 40 && go_on; ++i)
		write(td0, 5000 + i);
	pmd.release_metadata_snap();
	commit();
	if (!go_on)
		return;
	pmd.set_transaction_id(0, 9);
	pmd.resize_data_dev(40000);
	commit();
	if (!go_on)
		return;
	pmd.close_device(td0);
	pmd.close();
}

// Every block reachable from the superblock, with its contents (empty for
// a blank device). Checks each block's checksum on the way.
class reachable_blocks {
public:
	using image = std::map<block_address, std::vector<uint8_t>>;

	explicit reachable_blocks(const io::memory_block_store& store) : store_(store) {}

	image collect()
	{
		out_.clear();
		const uint8_t* sb = store_.block(0);
		if (std::all_of(sb, sb + block_size, [](uint8_t c) { return c == 0; }))
			return out_;
		REQUIRE(pdata::checksum_matches(sb, pdata::block_kind::superblock));
		thin::superblock s = thin::superblock::decode(sb);
		take(0);
		trees(s);
		take_checked(s.metadata_sm.bitmap_root, pdata::block_kind::index);
		const uint8_t* index = store_.block(s.metadata_sm.bitmap_root);
		for (uint64_t i = 0; i < pdata::nr_bitmaps_for(s.metadata_sm.nr_blocks); ++i)
			take_checked(pdata::index_entry::decode(index + pdata::metadata_index_entry_offset(uint32_t(i))).blocknr,
			             pdata::block_kind::bitmap);
		tree(s.metadata_sm.ref_count_root, 1, nullptr);
		tree(s.data_sm.bitmap_root, 1, [&](const uint8_t* v) {
			take_checked(pdata::index_entry::decode(v).blocknr, pdata::block_kind::bitmap);
		});
		tree(s.data_sm.ref_count_root, 1, nullptr);
		if (s.metadata_snap) {
			take_checked(s.metadata_snap, pdata::block_kind::superblock);
			trees(thin::superblock::decode(store_.block(s.metadata_snap)));
		}
		return out_;
	}

	// Calls fn(data block) for every mapping of every distinct bottom leaf
	// of the mapping trees (the live one and the metadata snapshot's).
	void for_each_data_ref(const std::function<void(uint64_t)>& fn)
	{
		out_.clear();
		thin::superblock s = thin::superblock::decode(store_.block(0));
		tree(s.data_mapping_root, 2, [&](const uint8_t* v) { fn(load_le64(v) >> 24); });
		if (s.metadata_snap) {
			thin::superblock copy = thin::superblock::decode(store_.block(s.metadata_snap));
			tree(copy.data_mapping_root, 2, [&](const uint8_t* v) { fn(load_le64(v) >> 24); });
		}
	}

private:
	void take(block_address b) { out_[b].assign(store_.block(b), store_.block(b) + block_size); }

	void take_checked(block_address b, pdata::block_kind kind)
	{
		INFO("block " << b);
		REQUIRE(pdata::checksum_matches(store_.block(b), kind));
		REQUIRE(pdata::stored_location(store_.block(b)) == b);
		take(b);
	}

	void trees(const thin::superblock& s)
	{
		tree(s.data_mapping_root, 2, nullptr);
		tree(s.device_details_root, 1, nullptr);
	}

	void tree(block_address b, unsigned levels, const std::function<void(const uint8_t*)>& leaf_value)
	{
		if (out_.count(b))
			return;
		take_checked(b, pdata::block_kind::btree_node);
		pdata::node_view n(store_.block(b));
		for (uint32_t i = 0; i < n.nr_entries(); ++i) {
			if (n.is_internal())
				tree(n.value64(i), levels, leaf_value);
			else if (levels > 1)
				tree(n.value64(i), levels - 1, leaf_value);
			else if (leaf_value)
				leaf_value(n.value(i));
		}
	}

	const io::memory_block_store& store_;
	image out_;
};

}
