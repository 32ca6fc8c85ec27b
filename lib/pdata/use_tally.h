// How often each block of a large range is used, counted only as far as
// "never", "once" or "more than once": two bits a block, a quarter of a
// ref_counter's narrow counts. Enough for questions such as "is this data
// block mapped exactly once in the pool" (thin_ls's exclusive blocks).
// Counts live in chunks of ref_counter::chunk_size blocks, made when first
// touched, so increments and lookups can be batched per chunk the same way
// (increment_batch, ref_count_lookup).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "pdata/ref_counter.h"

namespace thinmeta::pdata {

class use_tally {
public:
	explicit use_tally(uint64_t nr_blocks);

	static constexpr unsigned chunk_bits = ref_counter::chunk_bits;
	static constexpr uint64_t chunk_size = ref_counter::chunk_size;
	static constexpr uint32_t more_than_once = 2;

	uint64_t size() const { return nr_blocks_; }
	// Uses of blocks past size() are not kept: callers check the range.
	void inc(uint64_t b);
	// One use for each offset into chunk number `chunk`.
	void inc_chunk(uint64_t chunk, std::span<const uint16_t> offsets);
	// 0, 1, or more_than_once.
	uint32_t get(uint64_t b) const;
	// Asks the CPU for a chunk's counts ahead of many get()s in it.
	void prefetch_chunk(uint64_t chunk) const;
	// Bytes held, for memory accounting in benchmarks.
	uint64_t memory_used() const { return chunks_in_use_ * chunk_bytes; }

private:
	static constexpr uint64_t chunk_mask = chunk_size - 1;
	static constexpr uint64_t chunk_bytes = chunk_size / 4;

	uint8_t* chunk_for_update(uint64_t chunk);

	uint64_t nr_blocks_;
	std::vector<std::unique_ptr<uint8_t[]>> chunks_;
	uint64_t chunks_in_use_ = 0;
};

}
