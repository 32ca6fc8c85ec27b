// Increments to a ref_counter gathered per chunk of the counted range and
// applied a chunk at a time. A walk over mapping leaves increments data
// blocks in no useful order: applied at once, nearly every increment misses
// the cache and the TLB (two thirds of thin_check's time on 4 GiB of
// metadata went there). Gathered, each chunk's counts are touched together,
// about eight increments per cache line. Buffers take a quarter of the
// narrow counts' size, and only for chunks in use. The counter holds every
// increment once apply_all() has run.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "pdata/ref_counter.h"

namespace thinmeta::pdata {

class ref_count_batch {
public:
	explicit ref_count_batch(ref_counter& counts);
	ref_count_batch(const ref_count_batch&) = delete;
	ref_count_batch& operator=(const ref_count_batch&) = delete;

	// b < counts.size().
	void inc(uint64_t b)
	{
		pending& p = pending_[b >> ref_counter::chunk_bits];
		if (!p.offsets)
			p.offsets = std::make_unique_for_overwrite<uint16_t[]>(chunk_capacity);
		p.offsets[p.fill] = static_cast<uint16_t>(b);
		if (++p.fill == chunk_capacity)
			apply(b >> ref_counter::chunk_bits);
	}
	void apply_all();

	static constexpr uint32_t chunk_capacity = 4096;  // increments held per chunk

private:
	// A chunk's buffer is made when the chunk is first counted, so a range
	// far larger than what is counted (a damaged superblock's) costs only
	// this table.
	struct pending {
		std::unique_ptr<uint16_t[]> offsets;
		uint32_t fill = 0;
	};

	void apply(uint64_t chunk);

	ref_counter& counts_;
	std::vector<pending> pending_;
};

}
