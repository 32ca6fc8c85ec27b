#include "pdata/space_map_data.h"

namespace thinmeta::pdata {

data_space_map::data_space_map(transaction_manager& tm)
    : ll_(tm, sm_index_kind::data_btree), old_ll_(tm, sm_index_kind::data_btree)
{
}

void data_space_map::create(uint64_t nr_blocks)
{
	begin_ = 0;
	allocated_this_transaction_ = 0;
	ll_.create();
	ll_.extend(nr_blocks);
	commit();
}

void data_space_map::open(const sm_root& root)
{
	begin_ = 0;
	allocated_this_transaction_ = 0;
	ll_.open(root);
	commit();
}

uint64_t data_space_map::nr_free() const
{
	return old_ll_.nr_blocks() - old_ll_.nr_allocated() - static_cast<uint64_t>(allocated_this_transaction_);
}

void data_space_map::set_count(block_address b, uint32_t count)
{
	allocated_this_transaction_ += ll_.set_count(b, count);
}

void data_space_map::inc_range(block_address b, block_address e)
{
	allocated_this_transaction_ += ll_.inc(b, e);
}

void data_space_map::dec_range(block_address b, block_address e)
{
	allocated_this_transaction_ += ll_.dec(b, e);
}

block_address data_space_map::new_block()
{
	auto b = space_map_core::find_common_free_block(old_ll_, ll_, begin_);
	if (!b)
		b = space_map_core::find_common_free_block(old_ll_, ll_, 0);
	if (!b)
		throw no_space_error("out of data space");
	begin_ = *b + 1;
	allocated_this_transaction_ += ll_.inc(*b, *b + 1);
	return *b;
}

void data_space_map::commit()
{
	ll_.commit();
	old_ll_ = ll_;
	allocated_this_transaction_ = 0;
}

}
