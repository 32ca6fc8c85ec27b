// Removal, following dm-btree-remove.c: on the way down every internal
// node's child on the path is rebalanced with its siblings first (merged,
// evened out, or the centre of three deleted), so a delete never leaves a
// non-root node under a third full; a root with a single child absorbs it.
#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "base/text.h"
#include "pdata/btree.h"
#include "pdata/btree_spine.h"

namespace thinmeta::pdata {

using namespace detail;

namespace {

// Moves a node's entries by `shift` places: down (dropping the first ones)
// when negative, up (making room at the front) when positive.
void node_shift(node_mut& n, int shift)
{
	uint32_t nr = n.nr_entries();
	uint32_t vs = n.value_size();
	if (shift < 0) {
		uint32_t s = static_cast<uint32_t>(-shift);
		std::memmove(key_ptr(n, 0), key_ptr(n, s), 8 * size_t(nr - s));
		std::memmove(value_ptr(n, 0), value_ptr(n, s), size_t(vs) * (nr - s));
	} else {
		uint32_t s = static_cast<uint32_t>(shift);
		if (nr + s > n.max_entries())
			throw error(cat("b-tree node ", n.location(), ": shift out of bounds"));
		std::memmove(key_ptr(n, s), key_ptr(n, 0), 8 * size_t(nr));
		std::memmove(value_ptr(n, s), value_ptr(n, 0), size_t(vs) * nr);
	}
}

// Negative shift: the first -shift entries of right are appended to left.
// Positive: the last `shift` entries of left go to the front of right.
void node_copy(node_mut& left, node_mut& right, int shift)
{
	uint32_t nr_left = left.nr_entries();
	uint32_t vs = left.value_size();
	if (vs != right.value_size())
		throw error(cat("b-tree nodes ", left.location(), " and ", right.location(), " differ in value size"));
	if (shift < 0) {
		uint32_t s = static_cast<uint32_t>(-shift);
		if (nr_left + s > left.max_entries())
			throw error(cat("b-tree node ", left.location(), ": bad shift"));
		std::memcpy(key_ptr(left, nr_left), key_ptr(right, 0), 8 * size_t(s));
		std::memcpy(value_ptr(left, nr_left), value_ptr(right, 0), size_t(vs) * s);
	} else {
		uint32_t s = static_cast<uint32_t>(shift);
		if (s > right.max_entries())
			throw error(cat("b-tree node ", right.location(), ": bad shift"));
		std::memcpy(key_ptr(right, 0), key_ptr(left, nr_left - s), 8 * size_t(s));
		std::memcpy(value_ptr(right, 0), value_ptr(left, nr_left - s), size_t(vs) * s);
	}
}

uint32_t merge_threshold(const node_view& n)
{
	return n.max_entries() / 3;
}

struct child {
	uint32_t index;
	block_handle block;
};

child init_child(const btree_info& info, btree_value_type& vt, node_mut& parent, uint32_t index)
{
	block_handle h = shadow_node(info, parent.value64(index), vt);
	parent.set_value64(index, h.location());
	return {index, std::move(h)};
}

// Moves `count` entries from left to right (negative: right to left).
void shift(node_mut& left, node_mut& right, int count)
{
	uint32_t nr_left = left.nr_entries(), nr_right = right.nr_entries();
	uint32_t max = left.max_entries();
	if (max != right.max_entries())
		throw error(cat("b-tree nodes ", left.location(), " and ", right.location(), " differ in max_entries"));
	if (nr_left - count > max || nr_right + count > max)
		throw error(cat("b-tree node ", left.location(), ": shift out of bounds"));
	if (!count)
		return;
	if (count > 0) {
		node_shift(right, count);
		node_copy(left, right, count);
	} else {
		node_copy(left, right, count);
		node_shift(right, count);
	}
	left.set_nr_entries(nr_left - count);
	right.set_nr_entries(nr_right + count);
}

void rebalance2_nodes(const btree_info& info, node_mut& parent, child& l, child& r)
{
	node_mut left = node_of(l.block), right = node_of(r.block);
	uint32_t nr_left = left.nr_entries(), nr_right = right.nr_entries();
	uint32_t threshold = 2 * (merge_threshold(left) + 1);
	if (nr_left + nr_right < threshold) {
		node_copy(left, right, -static_cast<int>(nr_right));
		left.set_nr_entries(nr_left + nr_right);
		delete_at(parent, r.index);
		// Only the node goes: its children now belong to left.
		info.tm->dec(r.block.location());
	} else {
		uint32_t target_left = (nr_left + nr_right) / 2;
		shift(left, right, static_cast<int>(nr_left) - static_cast<int>(target_left));
		parent.set_key(r.index, right.key(0));
	}
}

void rebalance2(const btree_info& info, btree_value_type& vt, node_mut& parent, uint32_t left_index)
{
	child left = init_child(info, vt, parent, left_index);
	child right = init_child(info, vt, parent, left_index + 1);
	rebalance2_nodes(info, parent, left, right);
}

void delete_center_node(const btree_info& info, node_mut& parent, child& l, child& c, child& r)
{
	node_mut left = node_of(l.block), center = node_of(c.block), right = node_of(r.block);
	uint32_t nr_left = left.nr_entries(), nr_center = center.nr_entries(), nr_right = right.nr_entries();
	uint32_t max = left.max_entries();
	uint32_t s = std::min(max - nr_left, nr_center);
	node_copy(left, center, -static_cast<int>(s));
	left.set_nr_entries(nr_left + s);
	if (s != nr_center) {
		s = nr_center - s;
		if (nr_right + s > max)
			throw error(cat("b-tree node ", right.location(), ": shift out of bounds"));
		node_shift(right, static_cast<int>(s));
		node_copy(center, right, static_cast<int>(s));
		right.set_nr_entries(nr_right + s);
	}
	parent.set_key(r.index, right.key(0));
	delete_at(parent, c.index);
	--r.index;
	info.tm->dec(c.block.location());
	rebalance2_nodes(info, parent, l, r);
}

void redistribute3(node_mut& parent, child& l, child& c, child& r)
{
	node_mut left = node_of(l.block), center = node_of(c.block), right = node_of(r.block);
	int nr_left = static_cast<int>(left.nr_entries());
	int nr_center = static_cast<int>(center.nr_entries());
	int nr_right = static_cast<int>(right.nr_entries());
	int total = nr_left + nr_center + nr_right;
	int target_right = total / 3;
	int remainder = (target_right * 3) != total;
	int target_left = target_right + remainder;
	if (nr_left < nr_right) {
		int s = nr_left - target_left;
		if (s < 0 && nr_center < -s) {
			shift(left, center, -nr_center);
			s += nr_center;
			shift(left, right, s);
			nr_right += s;
		} else {
			shift(left, center, s);
		}
		shift(center, right, target_right - nr_right);
	} else {
		int s = target_right - nr_right;
		if (s > 0 && nr_center < s) {
			shift(center, right, nr_center);
			s -= nr_center;
			shift(left, right, s);
			nr_left -= s;
		} else {
			shift(center, right, s);
		}
		shift(left, center, nr_left - target_left);
	}
	parent.set_key(c.index, center.key(0));
	parent.set_key(r.index, right.key(0));
}

void rebalance3(const btree_info& info, btree_value_type& vt, node_mut& parent, uint32_t left_index)
{
	child left = init_child(info, vt, parent, left_index);
	child center = init_child(info, vt, parent, left_index + 1);
	child right = init_child(info, vt, parent, left_index + 2);
	node_view ln(left.block.data()), cn(center.block.data()), rn(right.block.data());
	if (ln.max_entries() != cn.max_entries() || cn.max_entries() != rn.max_entries())
		throw error(cat("b-tree nodes ", left.block.location(), ", ", center.block.location(), " and ",
		                right.block.location(), " differ in max_entries"));
	uint32_t threshold = merge_threshold(ln) * 4 + 1;
	if (ln.nr_entries() + cn.nr_entries() + rn.nr_entries() < threshold)
		delete_center_node(info, parent, left, center, right);
	else
		redistribute3(parent, left, center, right);
}

// Returns false when the key is below every key of the node (ENODATA).
bool rebalance_children(const btree_info& info, btree_value_type& vt, shadow_spine& s, uint64_t key)
{
	node_mut n = node_of(s.current());
	if (n.nr_entries() == 1) {
		block_address b = n.value64(0);
		bool shared = info.tm->is_shared(b);
		block_handle child = info.tm->read(b, block_kind::btree_node);
		if (shared)
			inc_children(*info.tm, node_view(child.data()), vt);
		std::memcpy(n.raw(), child.data(), block_size);
		info.tm->dec(b);
		return true;
	}
	int i = lower_bound(n, key);
	if (i < 0)
		return false;
	uint32_t ui = static_cast<uint32_t>(i);
	bool has_left = i > 0;
	bool has_right = ui < n.nr_entries() - 1;
	if (!has_left)
		rebalance2(info, vt, n, ui);
	else if (!has_right)
		rebalance2(info, vt, n, ui - 1);
	else
		rebalance3(info, vt, n, ui - 1);
	return true;
}

// Walks one level's tree down, rebalancing, to the leaf for key. Returns
// false when the key cannot be there. With `exact`, index is where the key
// is (false if it is absent); otherwise index is lower_bound in the leaf.
bool remove_raw(const btree_info& info, shadow_spine& s, btree_value_type& vt, block_address root, uint64_t key,
                int& index, bool exact)
{
	int i = index;
	for (;;) {
		s.step(root, vt);
		if (s.has_parent())
			node_of(s.parent()).set_value64(static_cast<uint32_t>(i), s.current().location());

		bool leaf = node_view(s.current().data()).flags() & leaf_node;
		if (!leaf) {
			if (!rebalance_children(info, vt, s, key))
				return false;
			leaf = node_view(s.current().data()).flags() & leaf_node;
		}
		node_view n(s.current().data());
		if (leaf) {
			int li = lower_bound(n, key);
			if (!exact) {
				index = li;
				return true;
			}
			if (li < 0 || li >= static_cast<int>(n.nr_entries()) || n.key(static_cast<uint32_t>(li)) != key)
				return false;
			index = li;
			return true;
		}
		i = lower_bound(n, key);
		if (i < 0)
			return false;
		root = n.value64(static_cast<uint32_t>(i));
	}
}

[[noreturn]] void missing(block_address root, uint64_t key)
{
	throw error(cat("b-tree ", root, ": no key ", key, " to remove"));
}

}

block_address btree_remove(const btree_info& info, block_address root, std::span<const uint64_t> keys)
{
	block_number_value_type le64_type(*info.tm);
	shadow_spine s(info);
	int index = 0;
	unsigned last = info.levels - 1;
	for (unsigned level = 0; level < info.levels; ++level) {
		btree_value_type& vt = level == last ? *info.value_type : le64_type;
		if (!remove_raw(info, s, vt, root, keys[level], index, true))
			missing(root, keys[level]);
		node_mut n = node_of(s.current());
		if (level != last) {
			root = n.value64(static_cast<uint32_t>(index));
			continue;
		}
		info.value_type->dec(value_ptr(n, static_cast<uint32_t>(index)), 1);
		delete_at(n, static_cast<uint32_t>(index));
	}
	return s.root();
}

namespace {

// One step of remove_leaves: removes the first key in [keys[last], end_key)
// if it is the nearest; false when there is none. Shadows the path either way.
bool remove_one(const btree_info& info, block_address& root, std::span<uint64_t> keys, uint64_t end_key)
{
	block_number_value_type le64_type(*info.tm);
	shadow_spine s(info);
	int index = 0;
	unsigned last = info.levels - 1;
	bool found = true;
	block_address b = root;
	for (unsigned level = 0; level < last && found; ++level) {
		found = remove_raw(info, s, le64_type, b, keys[level], index, true);
		if (found)
			b = node_view(s.current().data()).value64(static_cast<uint32_t>(index));
	}
	if (found)
		found = remove_raw(info, s, *info.value_type, b, keys[last], index, false);
	if (found) {
		node_mut n = node_of(s.current());
		if (index < 0)
			index = 0;
		if (index >= static_cast<int>(n.nr_entries())) {
			found = false;
		} else {
			uint64_t k = n.key(static_cast<uint32_t>(index));
			if (k >= keys[last] && k < end_key) {
				info.value_type->dec(value_ptr(n, static_cast<uint32_t>(index)), 1);
				delete_at(n, static_cast<uint32_t>(index));
				keys[last] = k + 1;
			} else {
				found = false;
			}
		}
	}
	root = s.root();
	return found;
}

}

block_address btree_remove_leaves(const btree_info& info, block_address root, std::span<uint64_t> keys,
                                  uint64_t end_key, uint64_t& nr_removed)
{
	nr_removed = 0;
	while (remove_one(info, root, keys, end_key))
		++nr_removed;
	return root;
}

}
