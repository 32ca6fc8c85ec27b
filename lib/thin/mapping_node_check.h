// Checks a node of a bottom-level mapping tree where it stands: sound on its
// own, a leaf exactly at height 0 (every leaf of a b-tree is at one depth),
// and its keys within the bounds its parent gives it.
#pragma once

#include <cstdint>
#include <string>

#include "io/block.h"
#include "pdata/key_range.h"

namespace thinmeta::thin {

// What is wrong with the node at `where`; empty when it is sound.
std::string check_mapping_node(const uint8_t* block, block_address where, uint32_t height,
                               const pdata::key_range& keys);

}
