// What `dmsetup status` shows for a pool (dm-thin's pool_status, INFO
// type), and the line itself in the kernel's format without the leading
// "<start> <length> thin-pool": e.g.
// "1 421/4096 2/1024 43 rw discard_passdown queue_if_no_space - 1024".
#pragma once

#include <cstdint>
#include <string>

#include "sim/pool_mode.h"

namespace thinmeta::sim {

struct pool_status {
	pool_mode mode = pool_mode::write;  // fail: the line is just "Fail"
	uint64_t transaction_id = 0;
	uint64_t metadata_used = 0, metadata_total = 0;  // blocks; used includes the reserve
	uint64_t data_used = 0, data_total = 0;          // data blocks
	uint64_t held_root = 0;                          // 0: no metadata snapshot
	bool discard_enabled = true;
	bool discard_passdown = true;
	bool error_if_no_space = false;
	bool needs_check = false;
	uint64_t metadata_low_water = 0;  // blocks
};

std::string status_line(const pool_status& status);

}
