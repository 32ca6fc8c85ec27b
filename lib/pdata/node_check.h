// Validation of one b-tree node on its own: checksum, self-location, flags,
// capacity, entry count, value size and key order. What depends on the
// node's place in a tree (occupancy, parent keys) is checked by the walkers.
#pragma once

#include <cstdint>
#include <string>

#include "io/block.h"
#include "pdata/key_range.h"

namespace thinmeta::pdata {

// Describes what is wrong with the node stored at `where`, or returns an empty
// string when it is sound. `leaf_value_size` is the tree's value size.
std::string check_node(const uint8_t* block, block_address where, uint32_t leaf_value_size);

// The same checks that need no knowledge of the tree (no value size), for
// recognising nodes when scanning a damaged device.
std::string check_node_shape(const uint8_t* block, block_address where);

// What is wrong with a node's keys as a child whose parent bounds it to
// `keys`: the first key below the bound, or the last at or past its end.
std::string check_keys_within(const uint8_t* block, const key_range& keys);

}
