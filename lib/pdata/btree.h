// Persistent b-trees changed through the transaction manager, as the
// kernel's dm-btree: lookup, insert (with its exact split and redistribute
// rules), remove (with its rebalancing), remove of a key range, recursive
// delete, for any value type and for multi-level keys (the thin mapping
// tree is two levels: device id, then virtual block).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "io/block.h"
#include "pdata/transaction_manager.h"

namespace thinmeta::pdata {

// What a tree's leaf values mean for reference counting. The default
// counts nothing (device details, index entries, overflow counts).
class btree_value_type {
public:
	explicit btree_value_type(uint32_t size) : size_(size) {}
	virtual ~btree_value_type() = default;

	uint32_t size() const { return size_; }
	// `count` values now have one more (inc) or one fewer (dec) referrer.
	virtual void inc(const uint8_t* values, uint32_t count);
	virtual void dec(const uint8_t* values, uint32_t count);
	// Overwriting a value releases the old one (dec) unless equal says the
	// two are the same.
	virtual bool equal(const uint8_t* a, const uint8_t* b) const;

private:
	uint32_t size_;
};

// Values that are le64 metadata block numbers (the upper levels of a
// multi-level tree): inc and dec change the blocks' counts, in runs.
class block_number_value_type : public btree_value_type {
public:
	explicit block_number_value_type(transaction_manager& tm) : btree_value_type(8), tm_(tm) {}
	void inc(const uint8_t* values, uint32_t count) override;
	void dec(const uint8_t* values, uint32_t count) override;
	bool equal(const uint8_t* a, const uint8_t* b) const override;

private:
	transaction_manager& tm_;
};

struct btree_info {
	transaction_manager* tm = nullptr;
	unsigned levels = 1;
	btree_value_type* value_type = nullptr;  // of the last level's leaves
};

// A new empty leaf; returns its block.
block_address btree_empty(const btree_info& info);

// Drops one reference to the tree: shared nodes are decremented, unshared
// ones are walked, their children released, and freed.
void btree_del(const btree_info& info, block_address root);

// The value stored under keys[0..levels), copied to value_out (may be null).
bool btree_lookup(const btree_info& info, block_address root, std::span<const uint64_t> keys, uint8_t* value_out);

// The first key >= keys[last] in the last level (the upper levels must match
// exactly): its key and value.
bool btree_lookup_next(const btree_info& info, block_address root, std::span<const uint64_t> keys,
                       uint64_t& key_out, uint8_t* value_out);

// Inserts or overwrites; returns the new root. `inserted` says whether the
// key was new.
block_address btree_insert(const btree_info& info, block_address root, std::span<const uint64_t> keys,
                           const uint8_t* value, bool* inserted = nullptr);

// Removes the key (the value is released through the value type's dec);
// returns the new root. Throws if the key is absent.
block_address btree_remove(const btree_info& info, block_address root, std::span<const uint64_t> keys);

// Removes the keys in [keys[last], end_key) of the last level, stopping at
// the first gap (dm_btree_remove_leaves): keys[last] is advanced past the
// last removed key. Returns the new root; nr_removed counts the keys.
block_address btree_remove_leaves(const btree_info& info, block_address root, std::span<uint64_t> keys,
                                  uint64_t end_key, uint64_t& nr_removed);

// Highest / lowest keys, one per level found (fewer when a level is empty).
unsigned btree_find_highest_key(const btree_info& info, block_address root, std::span<uint64_t> keys_out);
unsigned btree_find_lowest_key(const btree_info& info, block_address root, std::span<uint64_t> keys_out);

// A shadowed leaf of a single-level tree holding `key` (which must be
// present), for changing its value in place; root is updated.
block_handle btree_overwrite_leaf(const btree_info& info, block_address& root, uint64_t key, uint32_t& index);

// Calls fn(key, value) for every entry of a single-level tree, in order.
void btree_walk(const btree_info& info, block_address root,
                const std::function<void(uint64_t key, const uint8_t* value)>& fn);

}
