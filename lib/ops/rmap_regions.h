// The data-block regions thin_rmap asks about: parsed from "BEGIN..END"
// (END one past the last block) and merged into disjoint ranges that can be
// searched for a block.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace thinmeta::ops {

struct data_region {
	uint64_t begin = 0;
	uint64_t end = 0;  // one past the last block
};

// Parses "5..45"; throws thinmeta::error saying what is wrong.
data_region parse_data_region(std::string_view text);

class region_set {
public:
	explicit region_set(std::vector<data_region> regions);

	bool contains(uint64_t block) const;
	// The parts of the regions within blocks [begin, end), in order.
	std::vector<data_region> within(uint64_t begin, uint64_t end) const;
	bool empty() const { return merged_.empty(); }

private:
	std::vector<data_region> merged_;  // sorted, disjoint, not touching
};

}
