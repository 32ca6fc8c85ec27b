// How the block layer of Linux 6.1 cuts a BLKDISCARD on a thin device into
// the bios dm-thin sees: blkdev_issue_discard() cuts at the discard
// granularity (the pool's block size) using power-of-two arithmetic even
// when the block size is not a power of two, then bio_split_discard()
// applies the thin device's discard limits. dm-thin unmaps only the blocks
// each piece covers whole.
#pragma once

#include <algorithm>
#include <cstdint>

namespace thinmeta::sim {

// thin_io_hints (6.1): limits->max_discard_sectors = 16 GiB.
inline constexpr uint64_t thin_max_discard_sectors = uint64_t(2048) * 1024 * 16;
// bio_allowed_max_sectors() with 512-byte logical blocks.
inline constexpr uint64_t bio_max_sectors = 0xFFFFFFFFu >> 9;

// Calls piece(begin, end) in sectors for each bio, in order, for a discard
// of `length` sectors at `start` with a granularity of `granularity`
// sectors (the data block size).
template <typename Piece>
void for_each_discard_piece(uint64_t start, uint64_t length, uint64_t granularity, Piece&& piece)
{
	// bio_split_discard, on one bio of blkdev_issue_discard
	uint64_t max_sectors = std::min(thin_max_discard_sectors, bio_max_sectors);
	max_sectors -= max_sectors % granularity;
	auto split = [&](uint64_t sector, uint64_t sectors) {
		while (sectors > max_sectors) {
			uint64_t cut = max_sectors;
			uint64_t misaligned = (sector + cut) % granularity;
			if (cut > misaligned)
				cut -= misaligned;
			piece(sector, sector + cut);
			sector += cut;
			sectors -= cut;
		}
		piece(sector, sector + sectors);
	};

	// __blkdev_issue_discard with bio_discard_limit: round_up() and
	// round_down() are the kernel's mask macros.
	uint64_t granularity_bytes = granularity << 9;
	uint64_t aligned_chunk = (0xFFFFFFFFu & ~uint32_t(granularity_bytes - 1)) >> 9;
	while (length) {
		uint64_t rounded_up = ((start - 1) | (granularity - 1)) + 1;
		uint64_t limit = rounded_up != start ? rounded_up - start : aligned_chunk;
		uint64_t sectors = std::min(length, limit ? limit : length);
		split(start, sectors);
		start += sectors;
		length -= sectors;
	}
}

}
