#include "pdata/ref_counter.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "base/endian.h"
#include "base/prefetch.h"
#include "pdata/space_map_disk.h"

namespace thinmeta::pdata {

ref_counter::ref_counter(uint64_t nr_blocks)
    : nr_blocks_(nr_blocks), chunks_((nr_blocks + chunk_size - 1) / chunk_size)
{
}

uint32_t ref_counter::stored(const chunk& c, uint64_t b) const
{
	if (!c.counts)
		return 0;
	if (!c.wide)
		return narrow_count(c.counts.get(), b & chunk_mask);
	uint8_t count = c.counts[b & chunk_mask];
	return count == wide_limit ? large_.at(b) : count;
}

void ref_counter::widen(chunk& c)
{
	auto wide = std::make_unique<uint8_t[]>(chunk_size);
	for (uint64_t i = 0; i < chunk_size; ++i)
		wide[i] = static_cast<uint8_t>(narrow_count(c.counts.get(), i));
	c.counts = std::move(wide);
	c.wide = true;
	--narrow_chunks_;
	++wide_chunks_;
}

void ref_counter::store(chunk& c, uint64_t b, uint32_t count)
{
	if (!c.counts) {
		c.counts = std::make_unique<uint8_t[]>(chunk_size / 2);
		std::memset(c.counts.get(), 0, chunk_size / 2);
		++narrow_chunks_;
	}
	if (!c.wide && count >= narrow_limit)
		widen(c);
	if (!c.wide) {
		uint8_t& byte = c.counts[(b & chunk_mask) >> 1];
		unsigned shift = (b & 1) * 4;
		byte = static_cast<uint8_t>((byte & ~(0xFu << shift)) | (count << shift));
		return;
	}
	uint8_t& slot = c.counts[b & chunk_mask];
	if (count < wide_limit) {
		if (slot == wide_limit)
			large_.erase(b);
		slot = static_cast<uint8_t>(count);
		return;
	}
	slot = wide_limit;
	large_[b] = count;
}

void ref_counter::inc(uint64_t b, uint32_t by)
{
	chunk& c = chunks_[b >> chunk_bits];
	uint32_t count = stored(c, b);
	store(c, b, count > UINT32_MAX - by ? UINT32_MAX : count + by);
}

void ref_counter::inc_chunk(uint64_t chunk_index, std::span<const uint16_t> offsets)
{
	chunk& c = chunks_[chunk_index];
	uint64_t base = chunk_index << chunk_bits;
	size_t i = 0;
	// A full batch touches most of the chunk in no order: fetch it whole
	// first (thin_check at 4 GiB: 2.7 -> 2.4 s). Each form has a loop of
	// its own; a count that would leave the form (widening the chunk, or
	// past 254) goes through inc(), and the loop resumes in whatever form
	// the chunk then has.
	bool prefetch = offsets.size() >= 1024;
	while (i < offsets.size()) {
		if (c.counts && std::exchange(prefetch, false))
			prefetch_region<prefetch_for::writing>(c.counts.get(), bytes_of(c));
		if (c.counts && !c.wide) {
			uint8_t* counts = c.counts.get();
			for (; i < offsets.size(); ++i) {
				uint8_t& byte = counts[offsets[i] >> 1];
				unsigned shift = (offsets[i] & 1) * 4;
				if (((byte >> shift) & 0xF) >= narrow_limit - 1)
					break;
				byte = static_cast<uint8_t>(byte + (1u << shift));
			}
		} else if (c.counts) {
			uint8_t* counts = c.counts.get();
			for (; i < offsets.size(); ++i) {
				uint8_t& count = counts[offsets[i]];
				if (count >= wide_limit - 1)
					break;
				++count;
			}
		}
		if (i < offsets.size())
			inc(base + offsets[i++], 1);
	}
}

void ref_counter::inc_run(uint64_t first, uint64_t n)
{
	while (n) {
		chunk& c = chunks_[first >> chunk_bits];
		uint64_t offset = first & chunk_mask;
		uint64_t here = std::min(n, chunk_size - offset);
		uint64_t done = 0;
		// As inc_chunk(): a count that would leave its form goes through
		// inc(), and the run goes on in whatever form the chunk then has.
		if (c.counts && !c.wide) {
			uint8_t* counts = c.counts.get();
			while (done < here) {
				uint64_t o = offset + done;
				// Sixteen counts at a time (a word of nibbles, block o
				// in the lowest) where none is at narrow_limit - 1: a
				// nibble n has n >= 14 when its top bit is set and
				// (n & 7) + 2 carries into it.
				static_assert(narrow_limit - 1 == 14, "the word test finds counts of 14 and 15");
				if (o % 16 == 0 && here - done >= 16) {
					uint64_t word = load_le64(counts + o / 2);
					if (!(word & ((word & 0x7777777777777777) + 0x2222222222222222) & 0x8888888888888888)) {
						store_le64(counts + o / 2, word + 0x1111111111111111);
						done += 16;
						continue;
					}
				}
				uint8_t& byte = counts[o >> 1];
				unsigned shift = (o & 1) * 4;
				if (((byte >> shift) & 0xF) >= narrow_limit - 1)
					break;
				byte = static_cast<uint8_t>(byte + (1u << shift));
				++done;
			}
		} else if (c.counts) {
			uint8_t* counts = c.counts.get() + offset;
			for (; done < here; ++done) {
				if (counts[done] >= wide_limit - 1)
					break;
				++counts[done];
			}
		}
		if (done < here)
			inc(first + done++, 1);
		first += done;
		n -= done;
	}
}

void ref_counter::dec(uint64_t b)
{
	chunk& c = chunks_[b >> chunk_bits];
	if (uint32_t count = stored(c, b))
		store(c, b, count - 1);
}

void ref_counter::prefetch_chunk(uint64_t chunk_index) const
{
	const chunk& c = chunks_[chunk_index];
	if (c.counts)
		prefetch_region(c.counts.get(), bytes_of(c));
}

uint32_t ref_counter::get(uint64_t b) const
{
	return stored(chunks_[b >> chunk_bits], b);
}

void ref_counter::get_range(uint64_t first, uint32_t n, uint32_t* out) const
{
	while (n) {
		uint64_t offset = first & chunk_mask;
		uint32_t here = static_cast<uint32_t>(std::min<uint64_t>(n, chunk_size - offset));
		const chunk& c = chunks_[first >> chunk_bits];
		if (!c.counts) {
			std::fill_n(out, here, 0u);
		} else if (!c.wide) {
			// Straight-line loops over the chunk's own layout rather than
			// stored()'s tests per block: the space map check asks for every
			// block's count.
			const uint8_t* counts = c.counts.get();
			for (uint32_t i = 0; i < here; ++i)
				out[i] = narrow_count(counts, offset + i);
		} else {
			const uint8_t* counts = c.counts.get() + offset;
			bool large = false;
			for (uint32_t i = 0; i < here; ++i) {
				out[i] = counts[i];
				large |= counts[i] == wide_limit;
			}
			if (large)
				for (uint32_t i = 0; i < here; ++i)
					if (out[i] == wide_limit)
						out[i] = large_.at(first + i);
		}
		first += here;
		out += here;
		n -= here;
	}
}

namespace {

// The bitmap byte of four blocks from the two bytes of a narrow chunk's
// nibbles that hold their counts (low nibble first), read as one
// little-endian 16-bit value; each count capped at 3.
struct narrow_to_bitmap {
	uint8_t byte[1 << 16];

	narrow_to_bitmap()
	{
		for (uint32_t v = 0; v < (1u << 16); ++v) {
			uint8_t bitmap[bitmap_header_size + 1] = {};
			for (unsigned e = 0; e < 4; ++e)
				set_bitmap_entry(bitmap, e, std::min((v >> (4 * e)) & 0xF, overflow_marker));
			byte[v] = bitmap[bitmap_header_size];
		}
	}
};

// Built on first use: only the space map check needs it.
const narrow_to_bitmap& narrow_bitmap()
{
	static const narrow_to_bitmap table;
	return table;
}

}

void ref_counter::get_bitmap_bytes(uint64_t first, uint32_t n, uint8_t* out) const
{
	// Chunks hold a multiple of four blocks: no byte straddles two.
	static_assert(chunk_size % 4 == 0);
	const narrow_to_bitmap& table = narrow_bitmap();
	while (n) {
		uint64_t offset = first & chunk_mask;
		uint32_t here = static_cast<uint32_t>(std::min<uint64_t>(n, chunk_size - offset));
		const chunk& c = chunks_[first >> chunk_bits];
		if (!c.counts) {
			std::memset(out, 0, here / 4);
		} else if (!c.wide) {
			const uint8_t* counts = c.counts.get() + offset / 2;
			for (uint32_t i = 0; i < here / 4; ++i)
				out[i] = table.byte[counts[2 * i] | counts[2 * i + 1] << 8];
		} else {
			// Capped, the counts fit nibbles. A byte of wide_limit (the
			// count in large_) is past 3 already.
			const uint8_t* counts = c.counts.get() + offset;
			for (uint32_t i = 0; i < here / 4; ++i) {
				uint32_t nibbles = 0;
				for (unsigned e = 0; e < 4; ++e)
					nibbles |= std::min<uint32_t>(counts[4 * i + e], overflow_marker) << (4 * e);
				out[i] = table.byte[nibbles];
			}
		}
		first += here;
		out += here / 4;
		n -= here;
	}
}

uint64_t ref_counter::memory_used() const
{
	return chunks_.size() * sizeof(chunk) + narrow_chunks_ * (chunk_size / 2) + wide_chunks_ * chunk_size +
	       large_.size() * 32;
}

}
