// The reference counts behind both space maps, as the kernel's
// dm-space-map-common: 2-bit counts in bitmap blocks, counts of 3 or more
// in an overflow b-tree (block -> le32), and index entries (bitmap block,
// nr_free, none_free_before) kept either in the metadata space map's single
// index block or in the data space map's index b-tree (with the kernel's
// 64-entry write-back cache of index entries). Copyable: a space map keeps
// a copy as of the last commit to know which blocks were free then.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "pdata/space_map_disk.h"
#include "pdata/transaction_manager.h"

namespace thinmeta::pdata {

enum class sm_index_kind { metadata_block, data_btree };

class space_map_core {
public:
	space_map_core(transaction_manager& tm, sm_index_kind kind);

	// A new empty map: index (block or empty tree) and empty overflow tree.
	void create();
	// The map a committed root describes.
	void open(const sm_root& root);

	// Grows the map by extra blocks: new bitmaps with all entries free.
	void extend(uint64_t extra_blocks);

	// The 2-bit bitmap value (3 = look in the overflow tree).
	uint32_t lookup_bitmap(block_address b);
	uint32_t lookup(block_address b);
	// The first free block in [begin, end), as the kernel searches.
	std::optional<block_address> find_free_block(block_address begin, block_address end);
	// A block free in both maps, searching the current one from begin.
	static std::optional<block_address> find_common_free_block(space_map_core& old_map, space_map_core& new_map,
	                                                           block_address begin);

	// Each returns the net number of blocks that became allocated (may be
	// negative).
	int64_t set_count(block_address b, uint32_t count);
	int64_t inc(block_address b, block_address e);
	int64_t dec(block_address b, block_address e);

	// Writes the index if it changed.
	void commit();

	uint64_t nr_blocks() const { return nr_blocks_; }
	uint64_t nr_allocated() const { return nr_allocated_; }
	sm_root root() const { return {nr_blocks_, nr_allocated_, bitmap_root_, ref_count_root_}; }
	uint64_t nr_bitmaps() const { return nr_bitmaps_for(nr_blocks_); }
	index_entry index(uint64_t i) { return load_ie(i); }

private:
	struct cached_entry {
		bool valid = false;
		bool dirty = false;
		uint64_t index = 0;
		index_entry ie;
	};
	struct update;

	index_entry load_ie(uint64_t i);
	void save_ie(uint64_t i, const index_entry& ie);
	void write_back(cached_entry& c);
	uint32_t lookup_overflow(block_address b);
	int64_t inc_in_bitmap(block_address b, block_address e, block_address& next);
	int64_t dec_in_bitmap(block_address b, block_address e, block_address& next);
	void begin_update(uint64_t i, update& u);
	uint8_t* writable_bitmap(update& u);
	void inc_overflow(block_address b, update& u);
	uint32_t dec_overflow(block_address b, update& u);

	transaction_manager* tm_;
	sm_index_kind kind_;
	uint64_t nr_blocks_ = 0;
	uint64_t nr_allocated_ = 0;
	block_address bitmap_root_ = 0;
	block_address ref_count_root_ = 0;
	bool index_changed_ = false;
	// metadata: the index block's image; data: the cache of index entries.
	std::array<uint8_t, block_size> metadata_index_{};
	std::array<cached_entry, 64> ie_cache_{};
};

}
