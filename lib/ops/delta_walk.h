// Walks two bottom-level mapping trees side by side in key order, for
// thin_delta. Where both trees reach the same block (a subtree a snapshot
// still shares with its origin) its contents are identical on both sides,
// so the walk reports the subtree as shared without reading it: the cost
// follows the difference between the trees, not their size. Everywhere
// else it reads nodes in sorted batches and reports each virtual block
// mapped on either side.
#pragma once

#include <cstdint>
#include <string>

#include "io/block_device.h"
#include "pdata/key_range.h"

namespace thinmeta::ops {

enum class delta_kind : uint8_t { left_only, right_only, different, same };

// A subtree both trees reach through the same block.
struct shared_subtree {
	block_address block = 0;
	pdata::key_range keys;  // bounds from both trees' parents: the keys lie within
	uint32_t height = 0;    // 0: a leaf
};

// Where the walk's findings go, in ascending key order.
class delta_sink {
public:
	virtual ~delta_sink() = default;
	// One virtual block and its data block on each side (left_data is
	// meaningless for right_only, right_data for left_only).
	virtual void mapping(delta_kind kind, uint64_t vblock, uint64_t left_data, uint64_t right_data) = 0;
	virtual void shared(const shared_subtree& subtree) = 0;
};

// One side of the walk: a tree root and its name for messages ("device 3").
struct delta_tree {
	block_address root = 0;
	std::string name;
};

// Mappings the walk read from leaves, shared subtrees not included.
struct delta_walk_counts {
	uint64_t left = 0;
	uint64_t right = 0;
};

// Throws thinmeta::error naming the tree, block and keys on damage.
delta_walk_counts walk_delta(const io::block_device& dev, const delta_tree& left, const delta_tree& right,
                             delta_sink& sink);

}
