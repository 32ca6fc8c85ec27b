// The few lines thin_sim prints on stderr when a run or workload ends:
// what was done, what it did to the pool, how full the pool is.
#pragma once

#include <string>
#include <vector>

#include "sim/pool_stats.h"
#include "sim/pool_status.h"

namespace thinmeta::sim {

std::vector<std::string> summary_lines(uint64_t operations, uint64_t failures, const pool_stats& stats,
                                       const pool_status& usage);

}
