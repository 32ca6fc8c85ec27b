// The layout of a b-tree node block (a 32-byte header, then max_entries keys,
// then max_entries values) and typed access to it, read-only and writable.
#pragma once

#include <cstdint>
#include <cstring>

#include "base/endian.h"
#include "io/block.h"

namespace thinmeta::pdata {

inline constexpr uint32_t internal_node = 1;
inline constexpr uint32_t leaf_node = 2;
inline constexpr size_t node_header_size = 32;
// Internal nodes hold child block numbers, whatever the tree's leaf values.
inline constexpr uint32_t internal_value_size = 8;

// The kernel's capacity for a value size: the most entries that fit, rounded
// down to a multiple of 3.
constexpr uint32_t max_entries_for(uint32_t value_size)
{
	return 3 * (((block_size - node_header_size) / (8 + value_size)) / 3);
}

// Non-root nodes hold at least this many entries.
constexpr uint32_t min_entries_for(uint32_t max_entries)
{
	return max_entries / 3;
}

class node_view {
public:
	explicit node_view(const uint8_t* block) : b_(block) {}

	const uint8_t* raw() const { return b_; }
	uint32_t flags() const { return load_le32(b_ + 4); }
	bool is_internal() const { return flags() & internal_node; }
	bool is_leaf() const { return !is_internal() && (flags() & leaf_node); }
	uint64_t location() const { return load_le64(b_ + 8); }
	uint32_t nr_entries() const { return load_le32(b_ + 16); }
	uint32_t max_entries() const { return load_le32(b_ + 20); }
	uint32_t value_size() const { return load_le32(b_ + 24); }

	uint64_t key(uint32_t i) const { return load_le64(b_ + node_header_size + 8 * size_t(i)); }
	const uint8_t* value(uint32_t i) const { return b_ + value_offset(i); }
	uint64_t value64(uint32_t i) const { return load_le64(value(i)); }
	uint32_t value32(uint32_t i) const { return load_le32(value(i)); }
	uint64_t child(uint32_t i) const { return value64(i); }

	// The last index whose key is <= k, or -1 when k is below every key.
	int64_t lower_bound(uint64_t k) const;

protected:
	size_t value_offset(uint32_t i) const
	{
		return node_header_size + 8 * size_t(max_entries()) + size_t(value_size()) * i;
	}

	const uint8_t* b_;
};

class node_mut : public node_view {
public:
	explicit node_mut(uint8_t* block) : node_view(block), m_(block) {}

	// Formats an empty node at location `where` (the whole block is zeroed).
	void init(uint32_t flags, uint32_t value_size, block_address where);

	uint8_t* raw() { return m_; }
	void set_flags(uint32_t f) { store_le32(m_ + 4, f); }
	void set_location(uint64_t b) { store_le64(m_ + 8, b); }
	void set_nr_entries(uint32_t n) { store_le32(m_ + 16, n); }
	void set_max_entries(uint32_t n) { store_le32(m_ + 20, n); }
	void set_value_size(uint32_t n) { store_le32(m_ + 24, n); }
	void set_key(uint32_t i, uint64_t k) { store_le64(m_ + node_header_size + 8 * size_t(i), k); }
	uint8_t* value(uint32_t i) { return m_ + value_offset(i); }
	void set_value(uint32_t i, const void* v) { std::memcpy(value(i), v, value_size()); }
	void set_value64(uint32_t i, uint64_t v) { store_le64(value(i), v); }

	// Seals the checksum; call once the node is complete.
	void seal();

private:
	uint8_t* m_;
};

}
