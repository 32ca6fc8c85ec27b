// Where a b-tree's leaves are, found by reading only what leads to them:
// the depth of the leftmost leaf (one node per level), and every leaf's block
// in key order (every internal node, no leaf). Every leaf of a b-tree is at
// the same depth, so the leftmost path gives the height of a sound tree.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "io/block.h"
#include "io/block_device.h"

namespace thinmeta::pdata {

// Deeper than any b-tree of a 16 GiB metadata device.
inline constexpr uint32_t max_btree_depth = 16;

// The depth of the leftmost leaf under root; nullopt if a node on the way is
// unsound or the path is deeper than max_btree_depth.
std::optional<uint32_t> leftmost_leaf_depth(const io::block_device& dev, block_address root,
                                            uint32_t leaf_value_size);

// The leaves of a sound tree in key order. Throws thinmeta::error naming
// the block if a node on the way is unsound (the caller has checked the
// tree: this does not report damage, it refuses it).
std::vector<block_address> leaf_blocks(const io::block_device& dev, block_address root, uint32_t leaf_value_size);

}
