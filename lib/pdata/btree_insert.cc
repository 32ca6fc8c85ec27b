// Insertion, following dm-btree.c: every node on the path is shadowed on
// the way down, and a full node is made room in before descending (a full
// root is split beneath; other nodes move entries to a sibling with room or
// are split one into two or two into three).
#include <cstring>

#include "base/error.h"
#include "base/text.h"
#include "pdata/btree.h"
#include "pdata/btree_spine.h"

namespace thinmeta::pdata {

using namespace detail;

namespace {

constexpr uint32_t space_threshold = 8;

void copy_entries(node_mut& dest, uint32_t dest_off, node_mut& src, uint32_t src_off, uint32_t count)
{
	uint32_t vs = dest.value_size();
	std::memcpy(key_ptr(dest, dest_off), key_ptr(src, src_off), 8 * size_t(count));
	std::memcpy(value_ptr(dest, dest_off), value_ptr(src, src_off), size_t(vs) * count);
}

void move_entries(node_mut& dest, uint32_t dest_off, node_mut& src, uint32_t src_off, uint32_t count)
{
	uint32_t vs = dest.value_size();
	std::memmove(key_ptr(dest, dest_off), key_ptr(src, src_off), 8 * size_t(count));
	std::memmove(value_ptr(dest, dest_off), value_ptr(src, src_off), size_t(vs) * count);
}

void shift_down(node_mut& n, uint32_t count)
{
	move_entries(n, 0, n, count, n.nr_entries() - count);
}

void shift_up(node_mut& n, uint32_t count)
{
	move_entries(n, count, n, 0, n.nr_entries());
}

void redistribute2(node_mut& left, node_mut& right)
{
	uint32_t nr_left = left.nr_entries(), nr_right = right.nr_entries();
	uint32_t total = nr_left + nr_right;
	uint32_t target_left = total / 2;
	uint32_t target_right = total - target_left;
	if (nr_left < target_left) {
		uint32_t delta = target_left - nr_left;
		copy_entries(left, nr_left, right, 0, delta);
		shift_down(right, delta);
	} else if (nr_left > target_left) {
		uint32_t delta = nr_left - target_left;
		if (nr_right)
			shift_up(right, delta);
		copy_entries(right, 0, left, target_left, delta);
	}
	left.set_nr_entries(target_left);
	right.set_nr_entries(target_right);
}

// The centre node starts empty.
void redistribute3(node_mut& left, node_mut& center, node_mut& right)
{
	uint32_t nr_left = left.nr_entries(), nr_right = right.nr_entries();
	uint32_t total = nr_left + nr_right;
	uint32_t target_left = total / 3;
	uint32_t target_center = (total - target_left) / 2;
	uint32_t target_right = total - target_left - target_center;
	if (nr_left < target_left) {
		uint32_t left_short = target_left - nr_left;
		copy_entries(left, nr_left, right, 0, left_short);
		copy_entries(center, 0, right, left_short, target_center);
		shift_down(right, nr_right - target_right);
	} else if (nr_left < target_left + target_center) {
		uint32_t left_to_center = nr_left - target_left;
		copy_entries(center, 0, left, target_left, left_to_center);
		copy_entries(center, left_to_center, right, 0, target_center - left_to_center);
		shift_down(right, nr_right - target_right);
	} else {
		uint32_t right_short = target_right - nr_right;
		shift_up(right, right_short);
		copy_entries(right, 0, left, nr_left - right_short, right_short);
		copy_entries(center, 0, left, target_left, nr_left - target_left);
	}
	left.set_nr_entries(target_left);
	center.set_nr_entries(target_center);
	right.set_nr_entries(target_right);
}

void init_sibling(node_mut& n, const node_view& like)
{
	n.set_flags(like.flags());
	n.set_nr_entries(0);
	n.set_max_entries(like.max_entries());
	n.set_value_size(like.value_size());
}

void split_one_into_two(const btree_info& info, shadow_spine& s, uint32_t parent_index, uint64_t key)
{
	block_handle right = new_node(info);
	node_mut ln = node_of(s.current());
	node_mut rn = node_of(right);
	init_sibling(rn, ln);
	redistribute2(ln, rn);

	node_mut pn = node_of(s.parent());
	uint8_t location[8];
	store_le64(location, right.location());
	insert_at(pn, 8, parent_index + 1, rn.key(0), location);

	if (key >= rn.key(0))
		s.replace_current(std::move(right));
}

block_handle shadow_child(const btree_info& info, btree_value_type& vt, node_mut& parent, uint32_t index)
{
	block_handle h = shadow_node(info, parent.value64(index), vt);
	parent.set_value64(index, h.location());
	return h;
}

void split_two_into_three(const btree_info& info, btree_value_type& vt, shadow_spine& s, uint32_t parent_index,
                          uint64_t key)
{
	node_mut pn = node_of(s.parent());
	uint32_t middle_index;
	block_handle other;
	bool current_is_left;
	if (parent_index == 0) {
		middle_index = 1;
		current_is_left = true;
		other = shadow_child(info, vt, pn, parent_index + 1);
	} else {
		middle_index = parent_index;
		current_is_left = false;
		other = shadow_child(info, vt, pn, parent_index - 1);
	}
	block_handle middle = new_node(info);

	block_handle& left = current_is_left ? s.current() : other;
	block_handle& right = current_is_left ? other : s.current();
	node_mut ln = node_of(left), mn = node_of(middle), rn = node_of(right);
	init_sibling(mn, ln);
	redistribute3(ln, mn, rn);

	store_le64(key_ptr(pn, middle_index), rn.key(0));
	uint8_t location[8];
	store_le64(location, middle.location());
	insert_at(pn, 8, middle_index, mn.key(0), location);

	if (key < mn.key(0)) {
		if (!current_is_left)
			s.replace_current(std::move(other));
	} else if (key < rn.key(0)) {
		s.replace_current(std::move(middle));
	} else {
		if (current_is_left)
			s.replace_current(std::move(other));
	}
}

void split_beneath(const btree_info& info, shadow_spine& s)
{
	node_mut pn = node_of(s.current());
	uint32_t size = (pn.flags() & internal_node) ? 8 : info.value_type->size();
	uint32_t nr = pn.nr_entries();
	uint32_t nr_left = nr / 2, nr_right = nr - nr_left;

	block_handle left = new_node(info);
	node_mut ln = node_of(left);
	ln.set_flags(pn.flags());
	ln.set_nr_entries(nr_left);
	ln.set_max_entries(pn.max_entries());
	ln.set_value_size(pn.value_size());
	std::memcpy(key_ptr(ln, 0), key_ptr(pn, 0), 8 * size_t(nr_left));
	std::memcpy(value_ptr(ln, 0), value_ptr(pn, 0), size_t(size) * nr_left);

	block_handle right = new_node(info);
	node_mut rn = node_of(right);
	rn.set_flags(pn.flags());
	rn.set_nr_entries(nr_right);
	rn.set_max_entries(pn.max_entries());
	rn.set_value_size(pn.value_size());
	std::memcpy(key_ptr(rn, 0), key_ptr(pn, nr_left), 8 * size_t(nr_right));
	std::memcpy(value_ptr(rn, 0), value_ptr(pn, nr_left), size_t(size) * nr_right);

	pn.set_flags(internal_node);
	pn.set_nr_entries(2);
	pn.set_max_entries(max_entries_for(8));
	pn.set_value_size(8);
	pn.set_key(0, ln.key(0));
	pn.set_value64(0, left.location());
	pn.set_key(1, rn.key(0));
	pn.set_value64(1, right.location());
}

void rebalance_left(const btree_info& info, btree_value_type& vt, shadow_spine& s, uint32_t parent_index,
                    uint64_t key)
{
	node_mut parent = node_of(s.parent());
	block_handle sib = shadow_child(info, vt, parent, parent_index - 1);
	node_mut left = node_of(sib);
	node_mut right = node_of(s.current());
	redistribute2(left, right);
	parent.set_key(parent_index, right.key(0));
	if (key < right.key(0))
		s.replace_current(std::move(sib));
}

void rebalance_right(const btree_info& info, btree_value_type& vt, shadow_spine& s, uint32_t parent_index,
                     uint64_t key)
{
	node_mut parent = node_of(s.parent());
	block_handle sib = shadow_child(info, vt, parent, parent_index + 1);
	node_mut left = node_of(s.current());
	node_mut right = node_of(sib);
	redistribute2(left, right);
	parent.set_key(parent_index + 1, right.key(0));
	if (key >= right.key(0))
		s.replace_current(std::move(sib));
}

uint32_t free_space(const btree_info& info, block_address b)
{
	block_handle h = info.tm->read(b, block_kind::btree_node);
	node_view n(h.data());
	return n.max_entries() - n.nr_entries();
}

void rebalance_or_split(const btree_info& info, btree_value_type& vt, shadow_spine& s, uint32_t parent_index,
                        uint64_t key)
{
	node_view parent(s.parent().data());
	uint32_t nr_parent = parent.nr_entries();
	bool left_shared = false, right_shared = false;

	if (parent_index > 0) {
		block_address left_b = parent.value64(parent_index - 1);
		left_shared = info.tm->is_shared(left_b);
		if (!left_shared && free_space(info, left_b) >= space_threshold)
			return rebalance_left(info, vt, s, parent_index, key);
	}
	if (parent_index < nr_parent - 1) {
		block_address right_b = parent.value64(parent_index + 1);
		right_shared = info.tm->is_shared(right_b);
		if (!right_shared && free_space(info, right_b) >= space_threshold)
			return rebalance_right(info, vt, s, parent_index, key);
	}
	if (left_shared || right_shared || nr_parent <= 2 || parent_index == 0 || parent_index + 1 == nr_parent)
		split_one_into_two(info, s, parent_index, key);
	else
		split_two_into_three(info, vt, s, parent_index, key);
}

bool has_space_for_insert(const node_view& n, uint64_t key)
{
	if (n.nr_entries() == n.max_entries()) {
		if (n.flags() & leaf_node) {
			int i = lower_bound(n, key);
			return i >= 0 && n.key(static_cast<uint32_t>(i)) == key;
		}
		return false;
	}
	return true;
}

// Walks one level's tree down to the leaf where key belongs; returns the
// index to insert at (or of the key to overwrite). `index` is the parent
// slot of root in the previous level (-1 at the very top).
int insert_raw(const btree_info& info, shadow_spine& s, block_address root, btree_value_type& vt, uint64_t key,
               int index)
{
	int i = index;
	bool top = true;
	for (;;) {
		s.step(root, vt);
		if (s.has_parent() && i >= 0)
			node_of(s.parent()).set_value64(static_cast<uint32_t>(i), s.current().location());

		if (!has_space_for_insert(node_view(s.current().data()), key)) {
			if (top)
				split_beneath(info, s);
			else
				rebalance_or_split(info, vt, s, static_cast<uint32_t>(i), key);
		}

		node_mut node = node_of(s.current());
		i = lower_bound(node, key);
		if (node.flags() & leaf_node) {
			if (i < 0 || node.key(static_cast<uint32_t>(i)) != key)
				++i;
			return i;
		}
		if (i < 0) {
			node.set_key(0, key);
			i = 0;
		}
		root = node.value64(static_cast<uint32_t>(i));
		top = false;
	}
}

bool need_insert(const node_view& n, uint64_t key, uint32_t index)
{
	return index >= n.nr_entries() || n.key(index) != key;
}

}

block_address btree_insert(const btree_info& info, block_address root, std::span<const uint64_t> keys,
                           const uint8_t* value, bool* inserted)
{
	block_number_value_type le64_type(*info.tm);
	shadow_spine s(info);
	block_address block = root;
	int index = -1;
	unsigned level = 0;
	for (; level + 1 < info.levels; ++level) {
		index = insert_raw(info, s, block, le64_type, keys[level], index);
		node_mut n = node_of(s.current());
		if (need_insert(n, keys[level], static_cast<uint32_t>(index))) {
			block_address new_tree = btree_empty(info);
			uint8_t v[8];
			store_le64(v, new_tree);
			insert_at(n, 8, static_cast<uint32_t>(index), keys[level], v);
		}
		block = n.value64(static_cast<uint32_t>(index));
	}

	index = insert_raw(info, s, block, *info.value_type, keys[level], index);
	node_mut n = node_of(s.current());
	uint32_t vs = info.value_type->size();
	if (need_insert(n, keys[level], static_cast<uint32_t>(index))) {
		if (inserted)
			*inserted = true;
		insert_at(n, vs, static_cast<uint32_t>(index), keys[level], value);
	} else {
		if (inserted)
			*inserted = false;
		uint8_t* old = value_ptr(n, static_cast<uint32_t>(index));
		if (!info.value_type->equal(old, value))
			info.value_type->dec(old, 1);
		std::memcpy(old, value, vs);
	}
	return s.root();
}

block_handle btree_overwrite_leaf(const btree_info& info, block_address& root, uint64_t key, uint32_t& index)
{
	shadow_spine s(info);
	int i = -1;
	block_address b = root;
	for (;;) {
		s.step(b, *info.value_type);
		if (s.has_parent() && i >= 0)
			node_of(s.parent()).set_value64(static_cast<uint32_t>(i), s.current().location());
		node_view node(s.current().data());
		i = lower_bound(node, key);
		if (i < 0 || i >= static_cast<int>(node.nr_entries()))
			throw error(cat("b-tree ", root, ": key ", key, " is missing"));
		if (node.flags() & leaf_node) {
			if (node.key(static_cast<uint32_t>(i)) != key)
				throw error(cat("b-tree ", root, ": key ", key, " is missing"));
			break;
		}
		b = node.value64(static_cast<uint32_t>(i));
	}
	root = s.root();
	index = static_cast<uint32_t>(i);
	return s.take_current();
}

}
