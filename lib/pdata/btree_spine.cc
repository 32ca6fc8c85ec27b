#include "pdata/btree_spine.h"

#include <cstring>

#include "base/error.h"
#include "base/text.h"

namespace thinmeta::pdata::detail {

namespace {
int search(const node_view& n, uint64_t key, bool want_hi)
{
	int lo = -1, hi = static_cast<int>(n.nr_entries());
	while (hi - lo > 1) {
		int mid = lo + (hi - lo) / 2;
		uint64_t k = n.key(static_cast<uint32_t>(mid));
		if (k == key)
			return mid;
		if (k < key)
			lo = mid;
		else
			hi = mid;
	}
	return want_hi ? hi : lo;
}
}

int lower_bound(const node_view& n, uint64_t key)
{
	return search(n, key, false);
}

int upper_bound(const node_view& n, uint64_t key)
{
	return search(n, key, true);
}

uint8_t* key_ptr(node_mut& n, uint32_t i)
{
	return n.raw() + node_header_size + 8 * size_t(i);
}

uint8_t* value_ptr(node_mut& n, uint32_t i)
{
	return n.value(i);
}

void insert_at(node_mut& n, uint32_t value_size, uint32_t index, uint64_t key, const uint8_t* value)
{
	uint32_t nr = n.nr_entries();
	uint32_t max = n.max_entries();
	if (index > nr || index >= max || nr >= max)
		throw error(cat("b-tree node ", n.location(), ": too many entries for an insert"));
	uint8_t* keys = key_ptr(n, 0);
	uint8_t* values = value_ptr(n, 0);
	if (index < nr) {
		std::memmove(keys + 8 * size_t(index + 1), keys + 8 * size_t(index), 8 * size_t(nr - index));
		std::memmove(values + size_t(value_size) * (index + 1), values + size_t(value_size) * index,
		             size_t(value_size) * (nr - index));
	}
	store_le64(keys + 8 * size_t(index), key);
	std::memcpy(values + size_t(value_size) * index, value, value_size);
	n.set_nr_entries(nr + 1);
}

void delete_at(node_mut& n, uint32_t index)
{
	uint32_t nr = n.nr_entries();
	if (index >= nr)
		throw error(cat("b-tree node ", n.location(), ": no entry ", index, " to delete"));
	uint32_t to_move = nr - (index + 1);
	uint32_t vs = n.value_size();
	if (to_move) {
		std::memmove(key_ptr(n, index), key_ptr(n, index + 1), 8 * size_t(to_move));
		std::memmove(value_ptr(n, index), value_ptr(n, index + 1), size_t(vs) * to_move);
	}
	n.set_nr_entries(nr - 1);
}

void inc_children(transaction_manager& tm, const node_view& n, btree_value_type& vt)
{
	if (n.flags() & internal_node)
		tm.inc_runs(n.value(0), n.nr_entries());
	else
		vt.inc(n.value(0), n.nr_entries());
}

block_handle new_node(const btree_info& info)
{
	return info.tm->new_block(block_kind::btree_node);
}

block_handle shadow_node(const btree_info& info, block_address b, btree_value_type& vt)
{
	bool inc = false;
	block_handle h = info.tm->shadow(b, block_kind::btree_node, inc);
	if (inc)
		inc_children(*info.tm, node_view(h.data()), vt);
	return h;
}

void shadow_spine::step(block_address b, btree_value_type& vt)
{
	if (count_ == 2) {
		nodes_[0] = std::move(nodes_[1]);
		count_ = 1;
	}
	nodes_[count_] = shadow_node(info_, b, vt);
	if (count_ == 0)
		root_ = nodes_[0].location();
	++count_;
}

}
