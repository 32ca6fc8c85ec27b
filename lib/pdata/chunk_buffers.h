// Values gathered per chunk of a ref_counter's range (65,536 blocks), so
// that work on blocks arriving in no useful order (increments, lookups) is
// done a chunk at a time, while the chunk's counts are in the cache. A
// chunk's buffer is made when the chunk is first used: a range far larger
// than what is used (a damaged superblock's) costs 16 bytes a chunk.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "pdata/ref_counter.h"

namespace thinmeta::pdata {

template <typename T, uint32_t Capacity>
class chunk_buffers {
public:
	explicit chunk_buffers(uint64_t nr_blocks)
	    : chunks_((nr_blocks + ref_counter::chunk_size - 1) >> ref_counter::chunk_bits)
	{
	}

	uint64_t nr_chunks() const { return chunks_.size(); }

	// Adds v to the buffer of chunk number `chunk`; true when it is full.
	bool add(uint64_t chunk, T v)
	{
		buffer& b = chunks_[chunk];
		if (!b.values)
			b.values = std::make_unique_for_overwrite<T[]>(Capacity);
		b.values[b.fill] = v;
		return ++b.fill == Capacity;
	}

	// The values added to the chunk since it was last taken; the buffer is
	// empty again (the span stays valid until the next add to the chunk).
	std::span<const T> take(uint64_t chunk)
	{
		buffer& b = chunks_[chunk];
		return {b.values.get(), std::exchange(b.fill, 0)};
	}

private:
	struct buffer {
		std::unique_ptr<T[]> values;
		uint32_t fill = 0;
	};
	std::vector<buffer> chunks_;
};

}
