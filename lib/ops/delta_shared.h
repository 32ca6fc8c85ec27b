// What the subtrees two mapping trees share contain, found as cheaply as
// the output allows.
//
// thin_delta's simple output reports a shared subtree only as <same>
// ranges: maximal runs of mapped virtual blocks. Those runs cannot be known
// without reading the leaves, unless every shared subtree is proved to map
// every block between its first and last key. The proof is a count: the
// device details give each device's mapped_blocks; subtracting what the
// walk read outside shared subtrees leaves the number of mappings inside
// them, and that number can reach the sum of the subtrees' key spans only
// if no span has a hole. The spans come from the parents' keys when those
// are tight (no reads at all), else from each subtree's first and last leaf.
// When the proof fails, the shared leaves are scanned (never compared).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "io/block_device.h"
#include "ops/delta_walk.h"

namespace thinmeta::ops {

// Virtual blocks [begin, end), every one mapped; empty for an empty subtree.
struct mapped_span {
	uint64_t begin = 0;
	uint64_t end = 0;
};

// One span per subtree when `mappings` (the number of mappings the subtrees
// hold together) proves them all free of holes; nullopt otherwise.
// `tree_name` names a tree holding them, for messages.
std::optional<std::vector<mapped_span>> prove_spans_full(const io::block_device& dev,
                                                         const std::vector<shared_subtree>& subtrees,
                                                         uint64_t mappings, const std::string& tree_name);

// Calls visit(vblock, data block) for each mapping of the subtree, in order.
void scan_subtree(const io::block_device& dev, const shared_subtree& subtree, const std::string& tree_name,
                  const std::function<void(uint64_t, uint64_t)>& visit);

}
