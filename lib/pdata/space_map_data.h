// The data space map, as the kernel's dm-space-map-disk: counts of data
// blocks, its index entries in a b-tree, its bitmaps and overflow tree in
// metadata blocks. Allocation is next-fit from a cursor that survives
// commits (kernel 6.1) and takes a block only if it is free now and was
// free at the last commit.
#pragma once

#include <cstdint>

#include "pdata/space_map.h"
#include "pdata/space_map_core.h"

namespace thinmeta::pdata {

class data_space_map final : public space_map {
public:
	explicit data_space_map(transaction_manager& tm);
	// A new map of nr_blocks, committed.
	void create(uint64_t nr_blocks);
	void open(const sm_root& root);

	// The size as of the last commit (what the kernel reports).
	uint64_t nr_blocks() const override { return old_ll_.nr_blocks(); }
	uint64_t nr_free() const override;
	uint32_t get_count(block_address b) override { return ll_.lookup(b); }
	bool count_is_more_than_one(block_address b) override { return get_count(b) > 1; }
	void set_count(block_address b, uint32_t count) override;
	void inc_range(block_address b, block_address e) override;
	void dec_range(block_address b, block_address e) override;
	block_address new_block() override;
	void commit() override;
	void extend(uint64_t extra_blocks) override { ll_.extend(extra_blocks); }
	sm_root root() const override { return ll_.root(); }

	// The size including growth not yet committed.
	uint64_t nr_blocks_now() const { return ll_.nr_blocks(); }
	space_map_core& core() { return ll_; }

private:
	space_map_core ll_;
	space_map_core old_ll_;
	block_address begin_ = 0;
	int64_t allocated_this_transaction_ = 0;
};

}
