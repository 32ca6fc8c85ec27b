// Little-endian loads and stores at byte offsets: every on-disk integer of
// thin-pool metadata is read and written through these.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace thinmeta {

template <typename T>
inline T byteswap(T v)
{
	if constexpr (sizeof(T) == 8)
		return __builtin_bswap64(v);
	else if constexpr (sizeof(T) == 4)
		return __builtin_bswap32(v);
	else if constexpr (sizeof(T) == 2)
		return __builtin_bswap16(v);
	else
		return v;
}

template <typename T>
inline T load_le(const void* p)
{
	T v;
	std::memcpy(&v, p, sizeof(v));
	if constexpr (std::endian::native == std::endian::big)
		v = byteswap(v);
	return v;
}

template <typename T>
inline void store_le(void* p, T v)
{
	if constexpr (std::endian::native == std::endian::big)
		v = byteswap(v);
	std::memcpy(p, &v, sizeof(v));
}

inline uint32_t load_le32(const void* p) { return load_le<uint32_t>(p); }
inline uint64_t load_le64(const void* p) { return load_le<uint64_t>(p); }
inline void store_le32(void* p, uint32_t v) { store_le<uint32_t>(p, v); }
inline void store_le64(void* p, uint64_t v) { store_le<uint64_t>(p, v); }

}
