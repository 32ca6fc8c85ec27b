#include "pdata/node_check.h"

#include "base/text.h"
#include "pdata/block_checksum.h"
#include "pdata/btree_node.h"

namespace thinmeta::pdata {

std::string check_node_shape(const uint8_t* block, block_address where)
{
	if (!checksum_matches(block, block_kind::btree_node)) {
		if (auto kind = identify_block(block))
			return cat("expected a b-tree node but found a ", block_kind_name(*kind));
		return "bad checksum";
	}
	node_view n(block);
	if (n.location() != where)
		return cat("the node says it is block ", n.location());
	uint32_t f = n.flags();
	if (f != internal_node && f != leaf_node)
		return cat("bad flags ", f, " (a node is either internal, 1, or a leaf, 2)");
	uint32_t vs = n.value_size();
	uint32_t max = n.max_entries();
	if (vs == 0 || vs > block_size || node_header_size + uint64_t(max) * (8 + vs) > block_size)
		return cat("max_entries ", max, " with ", vs, "-byte values does not fit in a block");
	if (max % 3)
		return cat("max_entries ", max, " is not a multiple of 3");
	if (n.nr_entries() > max)
		return cat("nr_entries ", n.nr_entries(), " exceeds max_entries ", max);
	for (uint32_t i = 1; i < n.nr_entries(); ++i)
		if (n.key(i) <= n.key(i - 1))
			return cat("keys out of order: key ", n.key(i), " at index ", i, " follows ", n.key(i - 1));
	return {};
}

std::string check_node(const uint8_t* block, block_address where, uint32_t leaf_value_size)
{
	std::string shape = check_node_shape(block, where);
	if (!shape.empty())
		return shape;
	node_view n(block);
	uint32_t want = n.is_internal() ? internal_value_size : leaf_value_size;
	if (n.value_size() != want)
		return cat(n.is_internal() ? "internal" : "leaf", " node has ", n.value_size(), "-byte values, expected ",
		           want);
	if (n.is_internal() && n.nr_entries() == 0)
		return "internal node has no entries";
	return {};
}

std::string check_keys_within(const uint8_t* block, const key_range& keys)
{
	node_view n(block);
	if (n.nr_entries()) {
		if (n.key(0) < keys.begin)
			return cat("first key ", n.key(0), " is below the parent's key ", keys.begin);
		if (keys.end && n.key(n.nr_entries() - 1) >= *keys.end)
			return cat("last key ", n.key(n.nr_entries() - 1), " is not below the next parent key ", *keys.end);
	}
	return {};
}

}
