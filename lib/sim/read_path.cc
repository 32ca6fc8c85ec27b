// thin_pool: the read path. Mapped blocks read from the data device;
// unmapped ones read zeroes, or the external origin (process_cell; in the
// read-only modes __process_bio_read_only, which sends the whole bio to the
// origin, so a read crossing the origin's end fails there).
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/text.h"
#include "sim/thin_pool.h"

namespace thinmeta::sim {

using thin::pool_error;

namespace {
constexpr uint64_t staging_bytes = 1 << 20;
}

void thin_pool::read(uint64_t dev, uint64_t offset, uint64_t length, data_sink& sink)
{
	active_thin& t = active_device(dev);
	++stats_.reads;
	uint64_t device_bytes = config_.thin_sectors * 512;
	if (offset >= device_bytes || !length)
		return;
	length = std::min(length, device_bytes - offset);
	if (mode_ == pool_mode::fail)
		throw pool_error(EIO, cat("read of thin device ", dev, ": the pool has failed"));
	split_into_pieces(offset, length);
	for (auto& p : pieces_)
		read_piece(t, p, sink);
}

void thin_pool::read_piece(active_thin& t, io_piece& p, data_sink& sink)
{
	uint64_t block_bytes = uint64_t(config_.block_size) * 512;
	buffer_.resize(staging_bytes);
	// Passes n bytes to the sink, chunk by chunk, from fill(position, n, out).
	auto stream = [&](uint64_t length, auto&& fill) {
		for (uint64_t done = 0; done < length;) {
			uint64_t n = std::min<uint64_t>(length - done, staging_bytes);
			fill(done, n, buffer_.data());
			sink.take(buffer_.data(), n);
			done += n;
		}
	};
	auto zeroes = [&](uint64_t length) {
		stream(length, [](uint64_t, uint64_t n, uint8_t* out) { std::memset(out, 0, n); });
	};

	uint64_t length = p.end - p.begin;
	std::optional<thin::mapping_lookup> lookup = pmd_->find_block(t.td, p.vblock);
	if (lookup) {
		uint64_t where = lookup->data_block * block_bytes + p.begin;
		stream(length, [&](uint64_t pos, uint64_t n, uint8_t* out) { data_.read(where + pos, out, n); });
		return;
	}
	if (!t.origin) {
		zeroes(length);
		return;
	}
	uint64_t begin = (p.vblock * block_bytes + p.begin) / 512, end = begin + length / 512;
	uint64_t origin_end = t.origin->size_sectors();
	if (mode_ != pool_mode::write && end > origin_end)
		throw pool_error(EIO, cat("read of thin device ", t.id, " at sector ", begin,
		                          " runs past the end of its external origin ", t.origin->path()));
	uint64_t from_origin = begin < origin_end ? (std::min(end, origin_end) - begin) * 512 : 0;
	stream(from_origin,
	       [&](uint64_t pos, uint64_t n, uint8_t* out) { t.origin->read(begin * 512 + pos, out, n); });
	zeroes(length - from_origin);
}

}
