// Walks le64 values as runs of consecutive numbers, so reference counts
// change one range at a time (the kernel's dm_tm_with_runs / with_runs).
// `shift` drops low bits first (24 for block_times, 0 for block numbers).
#pragma once

#include <cstdint>

#include "base/endian.h"

namespace thinmeta::pdata {

template <typename Fn>
void for_each_run(const uint8_t* values_le, uint32_t count, unsigned shift, Fn fn)
{
	uint64_t begin = 0, end = 0;
	bool in_run = false;
	for (uint32_t i = 0; i < count; ++i) {
		uint64_t b = load_le64(values_le + 8 * size_t(i)) >> shift;
		if (in_run && b == end) {
			++end;
			continue;
		}
		if (in_run)
			fn(begin, end);
		in_run = true;
		begin = b;
		end = b + 1;
	}
	if (in_run)
		fn(begin, end);
}

}
