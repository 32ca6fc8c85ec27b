// The unit of metadata I/O: 4 KiB blocks addressed by number.
#pragma once

#include <cstddef>
#include <cstdint>

namespace thinmeta {

using block_address = uint64_t;

inline constexpr size_t block_size = 4096;
inline constexpr size_t sectors_per_block = block_size / 512;

}
