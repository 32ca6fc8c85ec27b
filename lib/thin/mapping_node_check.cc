#include "thin/mapping_node_check.h"

#include "pdata/btree_node.h"
#include "pdata/node_check.h"
#include "thin/block_time.h"

namespace thinmeta::thin {

std::string check_mapping_node(const uint8_t* block, block_address where, uint32_t height,
                               const pdata::key_range& keys)
{
	std::string fault = pdata::check_node(block, where, mapping_value_size);
	if (!fault.empty())
		return fault;
	pdata::node_view n(block);
	if (height == 0 && !n.is_leaf())
		return "an internal node where the tree's other paths have leaves: the tree's depth is not uniform";
	if (height > 0 && n.is_leaf())
		return "a leaf where the tree's other paths have internal nodes: the tree's depth is not uniform";
	return pdata::check_keys_within(block, keys);
}

}
