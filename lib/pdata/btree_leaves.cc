#include "pdata/btree_leaves.h"

#include <algorithm>
#include <string>

#include "base/error.h"
#include "base/text.h"
#include "io/aligned_buffer.h"
#include "pdata/btree_node.h"
#include "pdata/node_check.h"

namespace thinmeta::pdata {

namespace {

// Internal nodes read per request while listing a level's children.
constexpr size_t batch_blocks = 512;

}

std::optional<uint32_t> leftmost_leaf_depth(const io::block_device& dev, block_address b, uint32_t leaf_value_size)
{
	io::aligned_buffer buffer(1);
	for (uint32_t depth = 0; depth < max_btree_depth; ++depth) {
		if (b >= dev.nr_blocks())
			return std::nullopt;
		dev.read_block(b, buffer.data());
		if (!check_node(buffer.data(), b, leaf_value_size).empty())
			return std::nullopt;
		node_view n(buffer.data());
		if (!n.is_internal())
			return depth;
		if (!n.nr_entries())
			return std::nullopt;
		b = n.child(0);
	}
	return std::nullopt;
}

std::vector<block_address> leaf_blocks(const io::block_device& dev, block_address root, uint32_t leaf_value_size)
{
	auto height = leftmost_leaf_depth(dev, root, leaf_value_size);
	if (!height)
		throw error(cat(dev.path(), ": the b-tree at block ", root, " is damaged on its leftmost path"));
	// Each level of internal nodes, in key order, gives the next.
	std::vector<block_address> level{root};
	io::aligned_buffer buffer(batch_blocks);
	for (uint32_t depth = 0; depth < *height; ++depth) {
		std::vector<block_address> children;
		for (size_t first = 0; first < level.size(); first += batch_blocks) {
			size_t n = std::min(batch_blocks, level.size() - first);
			dev.read_blocks({level.data() + first, n}, buffer.data());
			for (size_t k = 0; k < n; ++k) {
				block_address where = level[first + k];
				std::string fault = check_node(buffer.block(k), where, leaf_value_size);
				node_view node(buffer.block(k));
				if (fault.empty() && !node.is_internal())
					fault = cat("is a leaf at depth ", depth, " but the leftmost leaf is at depth ", *height);
				if (!fault.empty())
					throw error(cat(dev.path(), ": b-tree node at block ", where, " ", fault));
				for (uint32_t i = 0; i < node.nr_entries(); ++i)
					children.push_back(node.child(i));
			}
		}
		level = std::move(children);
	}
	return level;
}

}
