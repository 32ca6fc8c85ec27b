// Counters of what a simulated pool did, for the summary a run ends with.
#pragma once

#include <cstdint>

namespace thinmeta::sim {

struct pool_stats {
	uint64_t writes = 0, reads = 0, discards = 0, flushes = 0, messages = 0;
	uint64_t provisioned = 0;     // blocks mapped where nothing was mapped
	uint64_t sharing_broken = 0;  // shared blocks copied to a new block on write
	uint64_t unmapped = 0;        // mappings removed by discards
	uint64_t commits = 0;
	uint64_t mode_changes = 0;
	uint64_t low_water_events = 0;
};

}
