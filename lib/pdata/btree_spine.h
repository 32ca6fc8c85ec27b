// The pieces the b-tree operations share: node primitives that move
// entries exactly as the kernel does (stale bytes beyond nr_entries
// included, since they are part of the on-disk image), incrementing a
// copied node's children, and the shadow spine (the current node and its
// parent, shadowed on the way down).
#pragma once

#include <cstdint>

#include "pdata/btree.h"
#include "pdata/btree_node.h"

namespace thinmeta::pdata::detail {

inline node_mut node_of(block_handle& h) { return node_mut(h.data_mut()); }

// The last index whose key is <= key, or -1.
int lower_bound(const node_view& n, uint64_t key);
// The first index whose key is >= key (may be nr_entries).
int upper_bound(const node_view& n, uint64_t key);

uint8_t* key_ptr(node_mut& n, uint32_t i);
uint8_t* value_ptr(node_mut& n, uint32_t i);

// Inserts (key, value) at index, shifting later entries up.
void insert_at(node_mut& n, uint32_t value_size, uint32_t index, uint64_t key, const uint8_t* value);
// Deletes the entry at index, shifting later entries down.
void delete_at(node_mut& n, uint32_t index);

// A node was copied from a shared one: its children gain a referrer.
void inc_children(transaction_manager& tm, const node_view& n, btree_value_type& vt);

block_handle new_node(const btree_info& info);
// Shadows a node; increments its children when it was shared.
block_handle shadow_node(const btree_info& info, block_address b, btree_value_type& vt);

class shadow_spine {
public:
	explicit shadow_spine(const btree_info& info) : info_(info) {}

	void step(block_address b, btree_value_type& vt);
	block_handle& current() { return nodes_[count_ - 1]; }
	block_handle& parent() { return nodes_[0]; }
	bool has_parent() const { return count_ >= 2; }
	block_address root() const { return root_; }
	// Replaces the current node (after a split moved the key elsewhere).
	void replace_current(block_handle h) { nodes_[count_ - 1] = std::move(h); }
	// Gives up the current node without releasing it.
	block_handle take_current() { return std::move(nodes_[--count_]); }

private:
	const btree_info& info_;
	block_handle nodes_[2];
	int count_ = 0;
	block_address root_ = 0;
};

}
