#include "pdata/transaction_manager.h"

#include <cstring>

#include "base/endian.h"
#include "base/text.h"
#include "pdata/btree_node.h"
#include "pdata/value_runs.h"

namespace thinmeta::pdata {

namespace {

std::string check_sealed(const uint8_t* block, block_address where, block_kind kind)
{
	if (stored_location(block) != where)
		return cat(block_kind_name(kind), " says it is block ", stored_location(block));
	if (!checksum_matches(block, kind))
		return cat(block_kind_name(kind), " has a bad checksum");
	return {};
}

std::string check_node_block(const uint8_t* block, block_address where)
{
	std::string what = check_sealed(block, where, block_kind::btree_node);
	if (!what.empty())
		return what;
	node_view n(block);
	if (node_header_size + (8 + uint64_t(n.value_size())) * n.max_entries() > block_size)
		return "b-tree node's max_entries is too large";
	if (n.nr_entries() > n.max_entries())
		return "b-tree node has too many entries";
	if (!(n.flags() & (internal_node | leaf_node)))
		return "b-tree node is neither internal nor leaf";
	return {};
}

template <block_kind kind>
std::string check_block(const uint8_t* block, block_address where)
{
	return check_sealed(block, where, kind);
}

template <block_kind kind>
void prepare_block(uint8_t* block, block_address where)
{
	store_le64(block + 8, where);
	seal_block(block, kind);
}

}

io::block_validator validator_for(block_kind kind)
{
	switch (kind) {
	case block_kind::superblock:
		return check_block<block_kind::superblock>;
	case block_kind::btree_node:
		return check_node_block;
	case block_kind::bitmap:
		return check_block<block_kind::bitmap>;
	case block_kind::index:
		return check_block<block_kind::index>;
	}
	return nullptr;
}

io::block_preparer preparer_for(block_kind kind)
{
	switch (kind) {
	case block_kind::superblock:
		return prepare_block<block_kind::superblock>;
	case block_kind::btree_node:
		return prepare_block<block_kind::btree_node>;
	case block_kind::bitmap:
		return prepare_block<block_kind::bitmap>;
	case block_kind::index:
		return prepare_block<block_kind::index>;
	}
	return nullptr;
}

block_handle transaction_manager::new_block(block_kind kind)
{
	block_address b = sm_->new_block();
	block_handle h = cache_.write_zeroed(b, preparer_for(kind));
	shadows_.insert(b);
	return h;
}

block_handle transaction_manager::shadow(block_address orig, block_kind kind, bool& inc_children)
{
	inc_children = sm_->count_is_more_than_one(orig);
	if (!inc_children && is_shadow(orig))
		return cache_.write(orig, validator_for(kind), preparer_for(kind));

	block_address copy = sm_->new_block();
	sm_->dec(orig);
	block_handle from = cache_.read(orig, validator_for(kind));
	block_handle to = cache_.write_zeroed(copy, preparer_for(kind));
	std::memcpy(to.data_mut(), from.data(), block_size);
	shadows_.insert(copy);
	return to;
}

block_handle transaction_manager::read(block_address b, block_kind kind)
{
	return cache_.read(b, validator_for(kind));
}

block_handle transaction_manager::write(block_address b, block_kind kind)
{
	return cache_.write(b, validator_for(kind), preparer_for(kind));
}

void transaction_manager::inc_runs(const uint8_t* values_le, uint32_t count)
{
	for_each_run(values_le, count, 0, [&](uint64_t b, uint64_t e) { sm_->inc_range(b, e); });
}

void transaction_manager::dec_runs(const uint8_t* values_le, uint32_t count)
{
	for_each_run(values_le, count, 0, [&](uint64_t b, uint64_t e) { sm_->dec_range(b, e); });
}

void transaction_manager::pre_commit()
{
	sm_->commit();
	cache_.flush();
}

void transaction_manager::commit(block_handle superblock)
{
	shadows_.clear();
	superblock.release();
	cache_.flush();
}

void transaction_manager::abort()
{
	shadows_.clear();
	cache_.drop_all();
}

}
