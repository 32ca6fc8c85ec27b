// Asking the CPU for a whole region ahead of scattered accesses to it: a
// chunk of counts about to take thousands of increments or lookups in no
// order is fetched line by line in address order, rather than missed a line
// at a time as the accesses arrive.
#pragma once

#include <cstddef>
#include <cstdint>

namespace thinmeta {

enum class prefetch_for { reading, writing };

template <prefetch_for Use = prefetch_for::reading>
inline void prefetch_region(const void* region, size_t bytes)
{
	constexpr size_t line = 64;
	auto p = static_cast<const uint8_t*>(region);
	for (size_t k = 0; k < bytes; k += line)
		__builtin_prefetch(p + k, Use == prefetch_for::writing ? 1 : 0);
}

}
