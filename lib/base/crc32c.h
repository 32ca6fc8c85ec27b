// CRC-32C (Castagnoli), the checksum of every metadata block. Uses the SSE4.2
// crc32 instruction when the CPU has it (over three interleaved stripes, joined
// with a carry-less multiply, where it also has PCLMULQDQ; folding 256 bytes a
// step with carry-less multiplies where it has them on 512-bit registers), a
// table-driven fallback otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace thinmeta {

// Raw update: no initial or final inversion. The standard CRC-32C of a buffer
// is ~crc32c_update(~0u, data, len).
uint32_t crc32c_update(uint32_t crc, const void* data, size_t len);

// The portable implementation, exposed so tests can compare both paths.
uint32_t crc32c_update_portable(uint32_t crc, const void* data, size_t len);

// Every implementation this CPU runs, fastest (the one crc32c_update uses)
// first and the portable one last: tests compare each with the portable one.
using crc32c_update_fn = uint32_t (*)(uint32_t crc, const void* data, size_t len);
struct crc32c_implementation {
	const char* name;
	crc32c_update_fn update;
};
std::vector<crc32c_implementation> crc32c_implementations();

// True when crc32c_update runs on the SSE4.2 instruction.
bool crc32c_is_hardware();

// The standard CRC-32C: crc32c("123456789") == 0xE3069283.
inline uint32_t crc32c(const void* data, size_t len)
{
	return ~crc32c_update(0xFFFFFFFFu, data, len);
}

}
