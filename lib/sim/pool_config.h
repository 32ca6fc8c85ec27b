// How a thin pool is set up: what the kernel's thin-pool table line says
// (data block size, low water mark, feature arguments) plus the size every
// thin device is given by its own table line.
#pragma once

#include <cstdint>

namespace thinmeta::sim {

struct pool_features {
	bool zero_new_blocks = true;     // off: skip_block_zeroing
	bool discard_enabled = true;     // off: ignore_discard
	bool discard_passdown = true;    // off: no_discard_passdown
	bool read_only = false;          // read_only
	bool error_if_no_space = false;  // error_if_no_space (else queue_if_no_space)
};

struct pool_config {
	uint32_t block_size = 128;  // data block size, sectors
	uint64_t low_water_mark = 0;  // data blocks
	pool_features features;
	// Sectors of every thin device (the kernel harness uses 2^31: 1 TiB).
	uint64_t thin_sectors = uint64_t(1) << 31;
};

inline constexpr uint32_t min_block_size = 128;          // 64 KiB
inline constexpr uint32_t max_block_size = 2097152;      // 1 GiB
inline constexpr uint64_t max_thin_id = (1u << 24) - 1;  // device ids are 24 bits

// Throws pool_error(EINVAL) unless the kernel would accept the table line.
void check_pool_config(const pool_config& config);

}
