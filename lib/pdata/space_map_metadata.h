// The metadata space map, as the kernel's dm-space-map-metadata: counts of
// metadata blocks, kept in blocks it allocates from itself. Changes made
// while it is already changing its own structures are queued and applied
// when the outermost change finishes (their pending effect is included in
// counts meanwhile). At format time and while growing it runs a bootstrap
// allocator that hands out blocks in order from a cursor.
#pragma once

#include <cstdint>
#include <deque>

#include "pdata/space_map.h"
#include "pdata/space_map_core.h"

namespace thinmeta::pdata {

class metadata_space_map final : public space_map {
public:
	// Formats a map of nr_blocks over the transaction manager's device, with
	// `superblock` (and every block the map itself takes) allocated.
	static void create(metadata_space_map& sm, uint64_t nr_blocks, block_address superblock);

	// The map of a committed root. Call create() or open() before use.
	explicit metadata_space_map(transaction_manager& tm);
	void open(const sm_root& root);

	uint64_t nr_blocks() const override { return ll_.nr_blocks(); }
	uint64_t nr_free() const override;
	uint32_t get_count(block_address b) override;
	bool count_is_more_than_one(block_address b) override;
	void set_count(block_address b, uint32_t count) override;
	void inc_range(block_address b, block_address e) override;
	void dec_range(block_address b, block_address e) override;
	block_address new_block() override;
	void commit() override;
	void extend(uint64_t extra_blocks) override;
	sm_root root() const override { return ll_.root(); }

	space_map_core& core() { return ll_; }

private:
	enum class op_kind { inc, dec };
	struct block_op {
		op_kind kind;
		block_address b, e;
	};

	int pending_adjustment(block_address b) const;
	void apply_pending();
	void enter() { ++recursion_; }
	void leave();

	transaction_manager& tm_;
	space_map_core ll_;
	space_map_core old_ll_;
	block_address begin_ = 0;
	unsigned recursion_ = 0;
	uint64_t allocated_this_transaction_ = 0;
	std::deque<block_op> pending_;
	bool bootstrap_ = false;
};

}
