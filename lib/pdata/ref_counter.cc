#include "pdata/ref_counter.h"

#include <algorithm>
#include <cstring>

namespace thinmeta::pdata {

ref_counter::ref_counter(uint64_t nr_blocks)
    : nr_blocks_(nr_blocks), chunks_((nr_blocks + chunk_size - 1) / chunk_size)
{
}

void ref_counter::inc(uint64_t b, uint32_t by)
{
	auto& chunk = chunks_[b >> chunk_bits];
	if (!chunk) {
		chunk = std::make_unique<uint8_t[]>(chunk_size);
		std::memset(chunk.get(), 0, chunk_size);
		++nr_chunks_used_;
	}
	uint8_t& c = chunk[b & (chunk_size - 1)];
	if (c != spilled && uint32_t(c) + by < spilled) {
		c = static_cast<uint8_t>(c + by);
		return;
	}
	if (c != spilled) {
		large_[b] = c;
		c = spilled;
	}
	uint32_t& big = large_[b];
	big = (big > UINT32_MAX - by) ? UINT32_MAX : big + by;
}

void ref_counter::dec(uint64_t b)
{
	auto& chunk = chunks_[b >> chunk_bits];
	if (!chunk)
		return;
	uint8_t& c = chunk[b & (chunk_size - 1)];
	if (c != spilled) {
		if (c)
			--c;
		return;
	}
	auto it = large_.find(b);
	if (--it->second < spilled) {
		c = static_cast<uint8_t>(it->second);
		large_.erase(it);
	}
}

uint32_t ref_counter::get(uint64_t b) const
{
	const auto& chunk = chunks_[b >> chunk_bits];
	if (!chunk)
		return 0;
	uint8_t c = chunk[b & (chunk_size - 1)];
	if (c != spilled)
		return c;
	return large_.at(b);
}

void ref_counter::get_range(uint64_t first, uint32_t n, uint32_t* out) const
{
	while (n) {
		uint64_t offset = first & (chunk_size - 1);
		uint32_t here = static_cast<uint32_t>(std::min<uint64_t>(n, chunk_size - offset));
		const uint8_t* chunk = chunks_[first >> chunk_bits].get();
		if (!chunk) {
			std::fill_n(out, here, 0u);
		} else {
			for (uint32_t i = 0; i < here; ++i) {
				uint8_t c = chunk[offset + i];
				out[i] = c == spilled ? large_.at(first + i) : c;
			}
		}
		first += here;
		out += here;
		n -= here;
	}
}

uint64_t ref_counter::memory_used() const
{
	return chunks_.size() * sizeof(chunks_[0]) + nr_chunks_used_ * chunk_size + large_.size() * 32;
}

}
