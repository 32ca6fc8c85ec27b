// A thin device's entry in the device details tree (24-byte values).
#pragma once

#include <cstdint>

#include "base/endian.h"

namespace thinmeta::thin {

inline constexpr uint32_t device_details_size = 24;

struct device_details {
	uint64_t mapped_blocks = 0;
	uint64_t transaction_id = 0;
	uint32_t creation_time = 0;
	uint32_t snapshotted_time = 0;

	static device_details decode(const uint8_t* p)
	{
		return {load_le64(p), load_le64(p + 8), load_le32(p + 16), load_le32(p + 20)};
	}
	void encode(uint8_t* p) const
	{
		store_le64(p, mapped_blocks);
		store_le64(p + 8, transaction_id);
		store_le32(p + 16, creation_time);
		store_le32(p + 20, snapshotted_time);
	}
	bool operator==(const device_details&) const = default;
};

}
