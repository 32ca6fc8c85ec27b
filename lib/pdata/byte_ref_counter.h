// Reference counts at one byte per block for builders whose counts run
// high: a restore of the flat XML form gives a data block one reference per
// device holding it, and pools keep dozens of snapshots. Chunks of counts
// are allocated when first touched; only counts of 255 or more go to a map.
// (ref_counter keeps half a byte per block for checkers, whose counts are
// per distinct leaf and rarely reach 15.)
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace thinmeta::pdata {

class byte_ref_counter {
public:
	explicit byte_ref_counter(uint64_t nr_blocks);

	uint64_t size() const { return nr_blocks_; }
	// Counts of blocks past size() are not kept: callers check the range.
	void inc(uint64_t b)
	{
		uint8_t* chunk = chunks_[b >> chunk_bits].get();
		if (chunk && chunk[b & chunk_mask] < overflowed - 1) {
			++chunk[b & chunk_mask];
			return;
		}
		slow_inc(b);
	}
	// Takes one off a count above 0.
	void dec(uint64_t b);
	uint32_t get(uint64_t b) const
	{
		const uint8_t* chunk = chunks_[b >> chunk_bits].get();
		if (!chunk)
			return 0;
		uint8_t c = chunk[b & chunk_mask];
		return c == overflowed ? big_.at(b) : c;
	}
	// Bytes held, for memory accounting.
	uint64_t memory_used() const;

	static constexpr unsigned chunk_bits = 16;

private:
	static constexpr uint64_t chunk_mask = (uint64_t(1) << chunk_bits) - 1;
	// A byte of 255 says: the count is in big_.
	static constexpr uint8_t overflowed = 255;

	void slow_inc(uint64_t b);

	uint64_t nr_blocks_;
	std::vector<std::unique_ptr<uint8_t[]>> chunks_;
	std::unordered_map<uint64_t, uint32_t> big_;
	uint64_t nr_chunks_ = 0;
};

}
