#include "pdata/space_map_metadata.h"

#include "base/text.h"

namespace thinmeta::pdata {

metadata_space_map::metadata_space_map(transaction_manager& tm)
    : tm_(tm), ll_(tm, sm_index_kind::metadata_block), old_ll_(tm, sm_index_kind::metadata_block)
{
}

void metadata_space_map::create(metadata_space_map& sm, uint64_t nr_blocks, block_address superblock)
{
	sm.begin_ = superblock + 1;
	sm.recursion_ = 0;
	sm.allocated_this_transaction_ = 0;
	sm.pending_.clear();
	sm.bootstrap_ = true;
	try {
		sm.ll_.create();
		sm.ll_.extend(std::min(nr_blocks, max_metadata_blocks));
	} catch (...) {
		sm.bootstrap_ = false;
		throw;
	}
	sm.bootstrap_ = false;
	// The blocks the bootstrap allocator handed out (and the superblock)
	// get their counts now.
	sm.pending_.push_back({op_kind::inc, superblock, sm.begin_});
	sm.apply_pending();
	sm.commit();
}

void metadata_space_map::open(const sm_root& root)
{
	ll_.open(root);
	begin_ = 0;
	recursion_ = 0;
	allocated_this_transaction_ = 0;
	pending_.clear();
	bootstrap_ = false;
	old_ll_ = ll_;
}

uint64_t metadata_space_map::nr_free() const
{
	if (bootstrap_)
		return ll_.nr_blocks() - begin_;
	return old_ll_.nr_blocks() - old_ll_.nr_allocated() - allocated_this_transaction_;
}

int metadata_space_map::pending_adjustment(block_address b) const
{
	int adjustment = 0;
	for (const block_op& op : pending_)
		if (b >= op.b && b < op.e)
			adjustment += op.kind == op_kind::inc ? 1 : -1;
	return adjustment;
}

void metadata_space_map::apply_pending()
{
	while (!pending_.empty()) {
		block_op op = pending_.front();
		if (op.kind == op_kind::inc)
			ll_.inc(op.b, op.e);
		else
			ll_.dec(op.b, op.e);
		pending_.pop_front();
	}
}

void metadata_space_map::leave()
{
	if (recursion_ == 1)
		apply_pending();
	--recursion_;
}

uint32_t metadata_space_map::get_count(block_address b)
{
	if (bootstrap_)
		return b < begin_ ? 1 : 0;
	int adjustment = pending_adjustment(b);
	return static_cast<uint32_t>(static_cast<int64_t>(ll_.lookup(b)) + adjustment);
}

bool metadata_space_map::count_is_more_than_one(block_address b)
{
	if (bootstrap_)
		return false;
	int adjustment = pending_adjustment(b);
	if (adjustment > 1)
		return true;
	uint32_t rc = ll_.lookup_bitmap(b);
	if (rc == overflow_marker)
		return true;
	return static_cast<int>(rc) + adjustment > 1;
}

void metadata_space_map::set_count(block_address b, uint32_t count)
{
	if (bootstrap_ || recursion_)
		throw error("metadata space map: set_count cannot be used while the map is changing itself");
	enter();
	ll_.set_count(b, count);
	leave();
}

void metadata_space_map::inc_range(block_address b, block_address e)
{
	if (bootstrap_ || recursion_) {
		pending_.push_back({op_kind::inc, b, e});
		return;
	}
	enter();
	ll_.inc(b, e);
	leave();
}

void metadata_space_map::dec_range(block_address b, block_address e)
{
	if (bootstrap_ || recursion_) {
		pending_.push_back({op_kind::dec, b, e});
		return;
	}
	enter();
	ll_.dec(b, e);
	leave();
}

block_address metadata_space_map::new_block()
{
	if (bootstrap_) {
		if (begin_ == ll_.nr_blocks())
			throw no_space_error("out of metadata space");
		return begin_++;
	}
	auto b = space_map_core::find_common_free_block(old_ll_, ll_, begin_);
	if (!b)
		b = space_map_core::find_common_free_block(old_ll_, ll_, 0);
	if (!b)
		throw no_space_error("out of metadata space");
	begin_ = *b + 1;
	if (recursion_) {
		pending_.push_back({op_kind::inc, *b, *b + 1});
	} else {
		enter();
		ll_.inc(*b, *b + 1);
		leave();
	}
	++allocated_this_transaction_;
	return *b;
}

void metadata_space_map::commit()
{
	if (bootstrap_)
		return;
	ll_.commit();
	old_ll_ = ll_;
	allocated_this_transaction_ = 0;
}

void metadata_space_map::extend(uint64_t extra_blocks)
{
	if (bootstrap_)
		throw error("metadata space map: cannot grow while formatting");
	block_address old_len = ll_.nr_blocks();
	begin_ = old_len;
	bootstrap_ = true;
	try {
		ll_.extend(extra_blocks);
		// Count the blocks the growth took, and those that counting them
		// took, until nothing more is allocated.
		do {
			pending_.push_back({op_kind::inc, old_len, begin_});
			old_len = begin_;
			apply_pending();
			ll_.commit();
		} while (old_len != begin_);
	} catch (...) {
		bootstrap_ = false;
		throw;
	}
	bootstrap_ = false;
}

}
