// The keys a subtree may hold, as bounded by its parents: [begin, end), end
// absent for the rightmost subtree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/text.h"

namespace thinmeta::pdata {

struct key_range {
	uint64_t begin = 0;
	std::optional<uint64_t> end;

	bool contains(uint64_t k) const { return k >= begin && (!end || k < *end); }
	std::string describe() const { return end ? cat("[", begin, ", ", *end, ")") : cat("[", begin, ", end)"); }
};

}
