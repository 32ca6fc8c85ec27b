// Copy-on-write transactions over the metadata block cache, as the kernel's
// dm-transaction-manager: new blocks and shadows of blocks come from the
// metadata space map; a block already shadowed (or allocated) in this
// transaction and not shared is changed in place, anything else is copied
// to a new block first, so nothing reachable from the last committed
// superblock is ever overwritten. Commit writes every dirty block, then the
// superblock; abort forgets everything since the last commit.
#pragma once

#include <cstdint>
#include <unordered_set>

#include "io/block_cache.h"
#include "pdata/block_checksum.h"
#include "pdata/space_map.h"

namespace thinmeta::pdata {

using block_handle = io::block_cache::handle;

class transaction_manager {
public:
	explicit transaction_manager(io::block_cache& cache) : cache_(cache) {}
	transaction_manager(const transaction_manager&) = delete;
	transaction_manager& operator=(const transaction_manager&) = delete;

	// The metadata space map, which itself works through this manager.
	void set_space_map(space_map* sm) { sm_ = sm; }
	space_map& sm() { return *sm_; }
	io::block_cache& cache() { return cache_; }
	uint64_t nr_blocks() const { return cache_.nr_blocks(); }

	// A zeroed block, allocated from the space map, in the shadow set.
	block_handle new_block(block_kind kind);
	// A writable version of `orig`: orig itself when it is in the shadow
	// set and not shared, else a copy in a new block (orig is decremented).
	// `inc_children` is set when orig was shared: the copy then refers to
	// orig's children a second time, so the caller must increment them.
	block_handle shadow(block_address orig, block_kind kind, bool& inc_children);
	block_handle read(block_address b, block_kind kind);
	// Write access without shadowing, for a block the caller knows it may
	// change (one it shadowed earlier in this operation).
	block_handle write(block_address b, block_kind kind);

	void inc(block_address b) { sm_->inc(b); }
	void inc_range(block_address b, block_address e) { sm_->inc_range(b, e); }
	void dec(block_address b) { sm_->dec(b); }
	void dec_range(block_address b, block_address e) { sm_->dec_range(b, e); }
	// Calls inc_range or dec_range once per run of consecutive block numbers
	// among `count` le64 values.
	void inc_runs(const uint8_t* values_le, uint32_t count);
	void dec_runs(const uint8_t* values_le, uint32_t count);
	uint32_t ref_count(block_address b) { return sm_->get_count(b); }
	bool is_shared(block_address b) { return sm_->count_is_more_than_one(b); }
	bool is_shadow(block_address b) const { return shadows_.count(b) != 0; }

	// Commits the metadata space map and writes every dirty block.
	void pre_commit();
	// Ends the transaction: releases the superblock (locked for writing
	// after pre_commit) and writes it last.
	void commit(block_handle superblock);
	// Forgets the shadow set and every cached block (nothing may be locked).
	void abort();

private:
	io::block_cache& cache_;
	space_map* sm_ = nullptr;
	std::unordered_set<block_address> shadows_;
};

// The kernel's read-time checks and write-time sealing of each kind of block.
io::block_validator validator_for(block_kind kind);
io::block_preparer preparer_for(block_kind kind);

}
