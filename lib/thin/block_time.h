// A mapping's value in a device's bottom-level tree: the data block (40 bits)
// and the pool time it was written at (24 bits) in one le64.
#pragma once

#include <cstdint>

namespace thinmeta::thin {

inline constexpr uint32_t mapping_value_size = 8;
inline constexpr unsigned time_bits = 24;
inline constexpr uint64_t max_data_block = (uint64_t(1) << 40) - 1;
inline constexpr uint32_t max_mapping_time = (uint32_t(1) << time_bits) - 1;

struct block_time {
	uint64_t block = 0;
	uint32_t time = 0;

	static block_time unpack(uint64_t v) { return {v >> time_bits, static_cast<uint32_t>(v & max_mapping_time)}; }
	uint64_t pack() const { return (block << time_bits) | (time & max_mapping_time); }
	bool operator==(const block_time&) const = default;
};

}
