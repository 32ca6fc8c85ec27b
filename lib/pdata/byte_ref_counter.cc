#include "pdata/byte_ref_counter.h"

namespace thinmeta::pdata {

byte_ref_counter::byte_ref_counter(uint64_t nr_blocks)
    : nr_blocks_(nr_blocks), chunks_((nr_blocks >> chunk_bits) + 1)
{
}

void byte_ref_counter::slow_inc(uint64_t b)
{
	auto& chunk = chunks_[b >> chunk_bits];
	if (!chunk) {
		chunk = std::make_unique<uint8_t[]>(chunk_mask + 1);  // value-initialised: all zero
		++nr_chunks_;
	}
	uint8_t& c = chunk[b & chunk_mask];
	if (c < overflowed - 1) {
		++c;
	} else if (c == overflowed - 1) {
		c = overflowed;
		big_[b] = overflowed;
	} else {
		uint32_t& count = big_.at(b);
		if (count != UINT32_MAX)
			++count;
	}
}

void byte_ref_counter::dec(uint64_t b)
{
	uint8_t* chunk = chunks_[b >> chunk_bits].get();
	if (!chunk)
		return;
	uint8_t& c = chunk[b & chunk_mask];
	if (c != overflowed) {
		if (c)
			--c;
		return;
	}
	auto it = big_.find(b);
	if (--it->second < overflowed) {
		c = static_cast<uint8_t>(it->second);
		big_.erase(it);
	}
}

uint64_t byte_ref_counter::memory_used() const
{
	return chunks_.size() * sizeof(chunks_[0]) + nr_chunks_ * (chunk_mask + 1) + big_.size() * 32;
}

}
