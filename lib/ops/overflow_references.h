// What a space map's ref-count tree holds, as references: each entry
// (block b, count n) stands for n references to b, whose bitmap entry says
// "3 or more". thin_check fingerprints the data space map's tree as the walk
// reads it, to compare the space map with the walk's fingerprint of the
// references the mappings make (space_map_check.h).
#pragma once

#include <cstdint>

#include "base/multiset_fingerprint.h"

namespace thinmeta::ops {

struct overflow_references {
	multiset_fingerprint references;  // each entry's block, count times
	multiset_fingerprint blocks;      // each entry's block once
	uint64_t in_use = 0;              // entries whose count is not 0

	void add(uint64_t block, uint32_t count)
	{
		auto h = multiset_fingerprint::hash(block);
		references.add(h, count);
		blocks.add(h, 1);
		in_use += count != 0;
	}
};

}
