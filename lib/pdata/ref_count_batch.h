// Increments to a count per block (ref_counter, use_tally) gathered per
// chunk of the counted range and applied a chunk at a time. A walk over
// mapping leaves increments data blocks in no useful order: applied at
// once, nearly every increment misses the cache and the TLB (two thirds of
// thin_check's time on 4 GiB of metadata went there). Gathered, each
// chunk's counts are touched together, several increments per cache line.
// Buffers hold Capacity 16-bit offsets, and only for chunks in use: 4 KiB
// each by default, an eighth of the narrow counts they feed (8 KiB
// buffers checked 4 GiB of metadata no faster, and held 6 MiB more at
// thin_check's peak; 2 KiB ones were 8% slower). The counts hold every
// increment once apply_all() has run.
#pragma once

#include <cstdint>

#include "pdata/chunk_buffers.h"
#include "pdata/ref_counter.h"

namespace thinmeta::pdata {

// Counts: size(), inc_chunk(chunk, span<const uint16_t>), chunks of
// ref_counter::chunk_size blocks.
template <typename Counts, uint32_t Capacity = 2048>
class increment_batch {
public:
	explicit increment_batch(Counts& counts) : counts_(counts), pending_(counts.size()) {}

	// b < counts.size().
	void inc(uint64_t b)
	{
		uint64_t chunk = b >> ref_counter::chunk_bits;
		if (pending_.add(chunk, static_cast<uint16_t>(b)))
			counts_.inc_chunk(chunk, pending_.take(chunk));
	}
	void apply_all()
	{
		for (uint64_t chunk = 0; chunk < pending_.nr_chunks(); ++chunk)
			counts_.inc_chunk(chunk, pending_.take(chunk));
	}

	static constexpr uint32_t chunk_capacity = Capacity;  // increments held per chunk

private:
	static_assert(Counts::chunk_bits == ref_counter::chunk_bits, "counts are kept in ref_counter's chunks");
	static_assert(ref_counter::chunk_bits <= 16, "a chunk offset fits 16 bits");

	Counts& counts_;
	chunk_buffers<uint16_t, Capacity> pending_;
};

using ref_count_batch = increment_batch<ref_counter>;

}
