#include "pdata/use_tally.h"

#include "base/prefetch.h"

namespace thinmeta::pdata {

namespace {

// Adds one use to the two-bit count at `offset` of a chunk, stopping at
// more_than_once.
inline void add_use(uint8_t* counts, uint32_t offset)
{
	uint8_t& byte = counts[offset >> 2];
	unsigned shift = (offset & 3) * 2;
	unsigned count = (byte >> shift) & 3;
	byte = static_cast<uint8_t>(byte + (unsigned(count < use_tally::more_than_once) << shift));
}

}

use_tally::use_tally(uint64_t nr_blocks) : nr_blocks_(nr_blocks), chunks_((nr_blocks + chunk_size - 1) >> chunk_bits)
{
}

uint8_t* use_tally::chunk_for_update(uint64_t chunk)
{
	auto& counts = chunks_[chunk];
	if (!counts) {
		counts = std::make_unique<uint8_t[]>(chunk_bytes);
		++chunks_in_use_;
	}
	return counts.get();
}

void use_tally::inc(uint64_t b)
{
	add_use(chunk_for_update(b >> chunk_bits), static_cast<uint32_t>(b & chunk_mask));
}

void use_tally::inc_chunk(uint64_t chunk, std::span<const uint16_t> offsets)
{
	if (offsets.empty())
		return;
	uint8_t* counts = chunk_for_update(chunk);
	for (uint16_t offset : offsets)
		add_use(counts, offset);
}

void use_tally::prefetch_chunk(uint64_t chunk) const
{
	if (const uint8_t* counts = chunks_[chunk].get())
		prefetch_region(counts, chunk_bytes);
}

uint32_t use_tally::get(uint64_t b) const
{
	const auto& counts = chunks_[b >> chunk_bits];
	if (!counts)
		return 0;
	uint32_t offset = static_cast<uint32_t>(b & chunk_mask);
	return (counts[offset >> 2] >> ((offset & 3) * 2)) & 3;
}

}
