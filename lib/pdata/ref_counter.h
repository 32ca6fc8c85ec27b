// Reference counts for a large, sparsely used range of blocks (data blocks),
// without a map entry per block. Counts live in chunks allocated when first
// touched: a chunk keeps half a byte per block until one of its counts
// reaches 15, and from then on a byte per block; counts of 255 or more go to
// a map. Checkers count per distinct leaf and rarely leave the narrow form
// (at 16 GiB of metadata, about 10^9 mapped data blocks, that is near 512 MiB);
// a restore of flat XML counts one reference per device, and pools with
// dozens of snapshots widen the chunks they use.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
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
		chunk& c = chunks_[b >> chunk_bits];
		if (c.counts && !c.wide) {
			uint8_t& byte = c.counts[(b & chunk_mask) >> 1];
			unsigned shift = (b & 1) * 4;
			if (((byte >> shift) & 0xF) < narrow_limit - 1) {
				byte = static_cast<uint8_t>(byte + (1u << shift));
				return;
			}
		} else if (c.counts) {
			uint8_t& count = c.counts[b & chunk_mask];
			if (count < wide_limit - 1) {
				++count;
				return;
			}
		}
		inc(b, 1);
	}
	void inc(uint64_t b, uint32_t by);
	// One increment for each offset into chunk number `chunk`.
	void inc_chunk(uint64_t chunk, std::span<const uint16_t> offsets);
	// One increment for each of blocks [first, first + n): a run of
	// neighbouring counts, a cache line for 128 of them.
	void inc_run(uint64_t first, uint64_t n);
	// Takes one off a count above 0 (a reference given back).
	void dec(uint64_t b);
	uint32_t get(uint64_t b) const;
	// Asks the CPU for a chunk's counts ahead of many get()s in it.
	void prefetch_chunk(uint64_t chunk) const;
	// Counts of blocks [first, first + n) into out.
	void get_range(uint64_t first, uint32_t n, uint32_t* out) const;
	// The entries of a space map bitmap that these counts make, each capped
	// at 3 (the overflow marker), four blocks a byte as on disk: n / 4 bytes
	// into out. first and n are multiples of 4. A space map check compares
	// them with the stored bitmap a word at a time.
	void get_bitmap_bytes(uint64_t first, uint32_t n, uint8_t* out) const;
	// Bytes held, for memory accounting in benchmarks.
	uint64_t memory_used() const;

	static constexpr unsigned chunk_bits = 16;
	static constexpr uint64_t chunk_size = uint64_t(1) << chunk_bits;  // counts per chunk

private:
	static constexpr uint64_t chunk_mask = chunk_size - 1;
	// A narrow chunk widens when a count would reach narrow_limit; a wide
	// chunk's byte of wide_limit says the count is in large_.
	static constexpr unsigned narrow_limit = 15;
	static constexpr unsigned wide_limit = 255;

	struct chunk {
		std::unique_ptr<uint8_t[]> counts;
		bool wide = false;
	};

	// The count at `offset` of a narrow chunk's nibbles.
	static unsigned narrow_count(const uint8_t* counts, uint64_t offset)
	{
		return (counts[offset >> 1] >> ((offset & 1) * 4)) & 0xF;
	}
	// The bytes of a chunk's counts: half a byte or a byte per block.
	static uint64_t bytes_of(const chunk& c) { return c.wide ? chunk_size : chunk_size / 2; }
	uint32_t stored(const chunk& c, uint64_t b) const;
	void store(chunk& c, uint64_t b, uint32_t count);
	void widen(chunk& c);

	uint64_t nr_blocks_;
	std::vector<chunk> chunks_;
	std::unordered_map<uint64_t, uint32_t> large_;
	uint64_t narrow_chunks_ = 0;
	uint64_t wide_chunks_ = 0;
};

}
