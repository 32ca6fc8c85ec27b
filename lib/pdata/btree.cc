#include "pdata/btree.h"

#include <cstring>
#include <vector>

#include "base/error.h"
#include "base/text.h"
#include "pdata/btree_spine.h"

namespace thinmeta::pdata {

using namespace detail;

void btree_value_type::inc(const uint8_t*, uint32_t) {}
void btree_value_type::dec(const uint8_t*, uint32_t) {}
bool btree_value_type::equal(const uint8_t*, const uint8_t*) const
{
	return false;
}

void block_number_value_type::inc(const uint8_t* values, uint32_t count)
{
	tm_.inc_runs(values, count);
}

void block_number_value_type::dec(const uint8_t* values, uint32_t count)
{
	tm_.dec_runs(values, count);
}

bool block_number_value_type::equal(const uint8_t* a, const uint8_t* b) const
{
	return std::memcmp(a, b, 8) == 0;
}

block_address btree_empty(const btree_info& info)
{
	block_handle h = new_node(info);
	node_mut n(h.data_mut());
	n.set_flags(leaf_node);
	n.set_nr_entries(0);
	n.set_max_entries(max_entries_for(info.value_type->size()));
	n.set_value_size(info.value_type->size());
	return h.location();
}

void btree_del(const btree_info& info, block_address root)
{
	struct frame {
		block_handle b;
		unsigned level;
		uint32_t nr_children;
		uint32_t current;
	};
	std::vector<frame> stack;
	transaction_manager& tm = *info.tm;
	auto push = [&](block_address b, unsigned level) {
		if (tm.ref_count(b) > 1) {
			tm.dec(b);
			return;
		}
		block_handle h = tm.read(b, block_kind::btree_node);
		uint32_t nr = node_view(h.data()).nr_entries();
		stack.push_back({std::move(h), level, nr, 0});
	};
	auto pop = [&]() {
		block_address b = stack.back().b.location();
		stack.pop_back();
		tm.dec(b);
	};

	push(root, 0);
	while (!stack.empty()) {
		frame& f = stack.back();
		if (f.current >= f.nr_children) {
			pop();
			continue;
		}
		node_view n(f.b.data());
		if (n.flags() & internal_node) {
			block_address child = n.value64(f.current++);
			push(child, f.level);
		} else if (f.level < info.levels - 1) {
			block_address child = n.value64(f.current++);
			push(child, f.level + 1);
		} else {
			info.value_type->dec(n.value(0), f.nr_children);
			pop();
		}
	}
}

namespace {

// Descends one level's tree to the leaf for key; returns the leaf and the
// index lower_bound gave there, or nothing when the key is below every key
// or an internal node is empty.
bool find_leaf(transaction_manager& tm, block_address root, uint64_t key, block_handle& leaf, int& index)
{
	block_address b = root;
	for (;;) {
		block_handle h = tm.read(b, block_kind::btree_node);
		node_view n(h.data());
		int i = lower_bound(n, key);
		if (i < 0 || i >= static_cast<int>(n.nr_entries()))
			return false;
		if (n.flags() & internal_node) {
			b = n.value64(static_cast<uint32_t>(i));
			continue;
		}
		leaf = std::move(h);
		index = i;
		return true;
	}
}

// Follows keys[0..levels-1) through the upper levels; root becomes the
// last level's tree. False when a key is missing.
bool descend_upper_levels(const btree_info& info, block_address& root, std::span<const uint64_t> keys)
{
	for (unsigned level = 0; level + 1 < info.levels; ++level) {
		block_handle leaf;
		int i;
		if (!find_leaf(*info.tm, root, keys[level], leaf, i))
			return false;
		node_view n(leaf.data());
		if (n.key(static_cast<uint32_t>(i)) != keys[level])
			return false;
		root = n.value64(static_cast<uint32_t>(i));
	}
	return true;
}

}

bool btree_lookup(const btree_info& info, block_address root, std::span<const uint64_t> keys, uint8_t* value_out)
{
	if (!descend_upper_levels(info, root, keys))
		return false;
	block_handle leaf;
	int i;
	uint64_t key = keys[info.levels - 1];
	if (!find_leaf(*info.tm, root, key, leaf, i))
		return false;
	node_view n(leaf.data());
	if (n.key(static_cast<uint32_t>(i)) != key)
		return false;
	if (value_out)
		std::memcpy(value_out, n.value(static_cast<uint32_t>(i)), info.value_type->size());
	return true;
}

namespace {

bool lookup_next_single(const btree_info& info, block_address root, uint64_t key, uint64_t& rkey, uint8_t* value)
{
	block_handle h = info.tm->read(root, block_kind::btree_node);
	node_view n(h.data());
	int nr = static_cast<int>(n.nr_entries());
	if (n.flags() & internal_node) {
		int i = lower_bound(n, key);
		if (i < 0)
			i = 0;
		if (i >= nr)
			return false;
		if (lookup_next_single(info, n.value64(static_cast<uint32_t>(i)), key, rkey, value))
			return true;
		if (i < nr - 1)
			return lookup_next_single(info, n.value64(static_cast<uint32_t>(i + 1)), key, rkey, value);
		return false;
	}
	int i = upper_bound(n, key);
	if (i < 0 || i >= nr)
		return false;
	rkey = n.key(static_cast<uint32_t>(i));
	std::memcpy(value, n.value(static_cast<uint32_t>(i)), info.value_type->size());
	return true;
}

}

bool btree_lookup_next(const btree_info& info, block_address root, std::span<const uint64_t> keys,
                       uint64_t& key_out, uint8_t* value_out)
{
	if (!descend_upper_levels(info, root, keys))
		return false;
	unsigned level = info.levels - 1;
	std::vector<uint8_t> scratch;
	if (!value_out) {
		scratch.resize(info.value_type->size());
		value_out = scratch.data();
	}
	return lookup_next_single(info, root, keys[level], key_out, value_out);
}

namespace {

unsigned find_key(const btree_info& info, block_address root, bool highest, std::span<uint64_t> keys_out)
{
	unsigned count = 0;
	for (unsigned level = 0; level < info.levels; ++level) {
		for (;;) {
			block_handle h = info.tm->read(root, block_kind::btree_node);
			node_view n(h.data());
			uint32_t nr = n.nr_entries();
			if (!nr)
				return count;
			uint32_t i = highest ? nr - 1 : 0;
			keys_out[level] = n.key(i);
			bool internal = n.flags() & internal_node;
			if (internal || level + 1 < info.levels)
				root = n.value64(i);
			if (!internal)
				break;
		}
		++count;
	}
	return count;
}

}

unsigned btree_find_highest_key(const btree_info& info, block_address root, std::span<uint64_t> keys_out)
{
	return find_key(info, root, true, keys_out);
}

unsigned btree_find_lowest_key(const btree_info& info, block_address root, std::span<uint64_t> keys_out)
{
	return find_key(info, root, false, keys_out);
}

void btree_walk(const btree_info& info, block_address root,
                const std::function<void(uint64_t key, const uint8_t* value)>& fn)
{
	block_handle h = info.tm->read(root, block_kind::btree_node);
	node_view n(h.data());
	for (uint32_t i = 0; i < n.nr_entries(); ++i) {
		if (n.flags() & internal_node)
			btree_walk(info, n.value64(i), fn);
		else
			fn(n.key(i), n.value(i));
	}
}

}
