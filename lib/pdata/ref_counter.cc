#include "pdata/ref_counter.h"

#include <algorithm>
#include <cstring>

namespace thinmeta::pdata {

ref_counter::ref_counter(uint64_t nr_blocks)
    : nr_blocks_(nr_blocks), chunks_((nr_blocks + chunk_size - 1) / chunk_size)
{
}

uint8_t* ref_counter::chunk_for(uint64_t b)
{
	auto& chunk = chunks_[b >> chunk_bits];
	if (!chunk) {
		chunk = std::make_unique<uint8_t[]>(chunk_bytes);
		std::memset(chunk.get(), 0, chunk_bytes);
		++nr_chunks_used_;
	}
	return chunk.get();
}

void ref_counter::set_nibble(uint8_t* chunk, uint64_t b, unsigned v)
{
	uint8_t& byte = chunk[(b & (chunk_size - 1)) >> 1];
	unsigned shift = (b & 1) * 4;
	byte = static_cast<uint8_t>((byte & ~(0xFu << shift)) | (v << shift));
}

void ref_counter::inc(uint64_t b, uint32_t by)
{
	uint8_t* chunk = chunk_for(b);
	unsigned c = nibble(chunk, b);
	if (c != spilled && c + by < spilled) {
		set_nibble(chunk, b, c + by);
		return;
	}
	uint32_t& big = large_[b];
	if (c != spilled) {
		big = c;
		set_nibble(chunk, b, spilled);
	}
	big = (big > UINT32_MAX - by) ? UINT32_MAX : big + by;
}

void ref_counter::dec(uint64_t b)
{
	uint8_t* chunk = chunks_[b >> chunk_bits].get();
	if (!chunk)
		return;
	unsigned c = nibble(chunk, b);
	if (c != spilled) {
		if (c)
			set_nibble(chunk, b, c - 1);
		return;
	}
	auto it = large_.find(b);
	if (--it->second < spilled) {
		set_nibble(chunk, b, it->second);
		large_.erase(it);
	}
}

uint32_t ref_counter::get(uint64_t b) const
{
	const uint8_t* chunk = chunks_[b >> chunk_bits].get();
	if (!chunk)
		return 0;
	unsigned c = nibble(chunk, b);
	return c != spilled ? c : large_.at(b);
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
				unsigned c = nibble(chunk, first + i);
				out[i] = c != spilled ? c : large_.at(first + i);
			}
		}
		first += here;
		out += here;
		n -= here;
	}
}

uint64_t ref_counter::memory_used() const
{
	return chunks_.size() * sizeof(chunks_[0]) + nr_chunks_used_ * chunk_bytes + large_.size() * 32;
}

}
