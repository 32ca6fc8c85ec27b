// Reference counts for a large, sparsely used range of blocks in half a byte
// per block: chunks of counts are allocated when first touched, and the
// rarer counts of 15 or more spill into a map. What checkers and builders
// use to recount data blocks without a map entry per block; at 16 GiB of
// metadata (about 10^9 mapped data blocks at most) it stays near 512 MiB.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace thinmeta::pdata {

class ref_counter {
public:
	explicit ref_counter(uint64_t nr_blocks = 0);

	uint64_t size() const { return nr_blocks_; }
	// Counts for blocks past size() are not kept: callers check the range.
	void inc(uint64_t b)
	{
		uint8_t* chunk = chunks_[b >> chunk_bits].get();
		if (chunk) {
			uint8_t& byte = chunk[(b & (chunk_size - 1)) >> 1];
			unsigned shift = (b & 1) * 4;
			if (((byte >> shift) & 0xF) < spilled - 1) {
				byte = static_cast<uint8_t>(byte + (1u << shift));
				return;
			}
		}
		inc(b, 1);
	}
	void inc(uint64_t b, uint32_t by);
	// Takes one off a count above 0 (a reference given back).
	void dec(uint64_t b);
	uint32_t get(uint64_t b) const;
	// Counts of blocks [first, first + n) into out.
	void get_range(uint64_t first, uint32_t n, uint32_t* out) const;
	// Bytes held, for memory accounting in benchmarks.
	uint64_t memory_used() const;

	static constexpr unsigned chunk_bits = 16;
	static constexpr uint64_t chunk_size = uint64_t(1) << chunk_bits;  // counts per chunk

private:
	static constexpr unsigned spilled = 15;
	static constexpr uint64_t chunk_bytes = chunk_size / 2;

	unsigned nibble(const uint8_t* chunk, uint64_t b) const
	{
		return (chunk[(b & (chunk_size - 1)) >> 1] >> ((b & 1) * 4)) & 0xF;
	}
	void set_nibble(uint8_t* chunk, uint64_t b, unsigned v);
	uint8_t* chunk_for(uint64_t b);

	uint64_t nr_blocks_;
	std::vector<std::unique_ptr<uint8_t[]>> chunks_;
	std::unordered_map<uint64_t, uint32_t> large_;
	uint64_t nr_chunks_used_ = 0;
};

}
