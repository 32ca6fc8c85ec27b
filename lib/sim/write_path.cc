// thin_pool: the write path (dm-thin.c's process_cell, provision_block,
// break_sharing, schedule_zero / schedule_copy / schedule_external_copy,
// process_prepared_mapping, and the no-space queue).
#include <algorithm>
#include <cerrno>

#include "base/text.h"
#include "sim/thin_pool.h"

namespace thinmeta::sim {

using thin::pool_error;

namespace {
constexpr uint64_t staging_bytes = 1 << 20;
}

void thin_pool::split_into_pieces(uint64_t offset, uint64_t length)
{
	uint64_t block_bytes = uint64_t(config_.block_size) * 512;
	pieces_.clear();
	for (uint64_t pos = offset, end = offset + length; pos < end;) {
		io_piece p;
		p.vblock = pos / block_bytes;
		uint64_t block_start = p.vblock * block_bytes;
		uint64_t piece_end = std::min(end, block_start + block_bytes);
		p.begin = pos - block_start;
		p.end = piece_end - block_start;
		p.source_offset = pos - offset;
		pieces_.push_back(p);
		pos = piece_end;
	}
}

void thin_pool::write(uint64_t dev, uint64_t offset, uint64_t length, data_source& source)
{
	active_thin& t = active_device(dev);
	++stats_.writes;
	uint64_t device_bytes = config_.thin_sectors * 512;
	if (!length)
		return;
	if (offset >= device_bytes)
		throw pool_error(ENOSPC, cat("write at byte ", offset, " is past the end of thin device ", dev));
	bool cut_short = length > device_bytes - offset;
	if (cut_short)
		length = device_bytes - offset;
	if (mode_ == pool_mode::fail)
		throw pool_error(EIO, cat("write to thin device ", dev, ": the pool has failed"));

	// The bios go through the worker in block order; blocks being prepared
	// (zeroed, copied, or overwritten whole) are mapped when that is done.
	split_into_pieces(offset, length);
	for (auto& p : pieces_)
		map_write_piece(t, p, source);
	for (auto& p : pieces_)
		if (p.state == piece_state::prepared)
			complete_mapping(t, p, source);
	wait_out_no_space(t, source);

	for (auto& p : pieces_)
		if (p.state == piece_state::failed)
			throw pool_error(p.error, cat("write to thin device ", dev, " block ", p.vblock, " failed"));
	if (cut_short)
		throw pool_error(ENOSPC, cat("write runs past the end of thin device ", dev));
}

void thin_pool::map_write_piece(active_thin& t, io_piece& p, data_source& source)
{
	p.state = piece_state::done;
	if (mode_ == pool_mode::fail) {
		p.state = piece_state::failed;
		p.error = EIO;
		return;
	}
	std::optional<thin::mapping_lookup> lookup = pmd_->find_block(t.td, p.vblock);
	if (lookup && !lookup->shared) {
		write_piece_data(p, lookup->data_block, source);
		return;
	}
	if (mode_ == pool_mode::write) {
		if (lookup)
			allocate_block(t, p, source, true, lookup->data_block);
		else
			allocate_block(t, p, source, false, 0);
		return;
	}
	// process_bio_read_only: what needs a new block cannot be served.
	int e = unserviceable_error();
	if (e) {
		p.state = piece_state::failed;
		p.error = e;
	} else {
		p.state = piece_state::queued;
	}
}

// provision_block and break_sharing: a new data block for the piece.
void thin_pool::allocate_block(active_thin& t, io_piece& p, data_source& source, bool copy_from_pool,
                               uint64_t old_block)
{
	int r = alloc_data_block(p.data_block);
	if (r == 0) {
		prepare_new_block(t, p, source, copy_from_pool, old_block);
		return;
	}
	// Out of data space: the bio waits or fails (retry_bios_on_resume).
	int e = r == ENOSPC ? unserviceable_error() : io_error_code();
	p.state = e ? piece_state::failed : piece_state::queued;
	p.error = e;
}

// What the new block needs before it is mapped: a copy of the shared block
// or of the external origin, zeroes, or nothing when the write covers it.
void thin_pool::prepare_new_block(active_thin& t, io_piece& p, data_source& source, bool copy_from_pool,
                                  uint64_t old_block)
{
	uint64_t block_bytes = uint64_t(config_.block_size) * 512;
	bool whole = p.begin == 0 && p.end == block_bytes;
	uint64_t block = p.data_block;
	p.state = piece_state::prepared;
	p.data_written = false;
	p.breaks_sharing = copy_from_pool;

	auto overwrite = [&] {
		write_piece_data(p, block, source);
		p.data_written = true;
	};
	if (copy_from_pool) {  // schedule_internal_copy
		if (whole)
			overwrite();
		else
			copy_into_block(block, 0, block_bytes, nullptr, old_block * block_bytes);
		return;
	}
	if (t.origin) {  // schedule_external_copy
		uint64_t begin = p.vblock * config_.block_size, end = begin + config_.block_size;
		uint64_t origin_end = t.origin->size_sectors();
		if (begin < origin_end) {
			uint64_t sectors = std::min(end, origin_end) - begin;
			if (whole) {
				overwrite();
			} else {
				copy_into_block(block, 0, sectors * 512, t.origin, begin * 512);
				if (sectors < config_.block_size && config_.features.zero_new_blocks)
					data_.zero(block * block_bytes + sectors * 512, block_bytes - sectors * 512);
			}
			return;
		}
	}
	// schedule_zero: without zeroing, the block is mapped at once.
	if (!config_.features.zero_new_blocks)
		complete_mapping(t, p, source);
	else if (whole)
		overwrite();
	else
		data_.zero(block * block_bytes, block_bytes);
}

// process_prepared_mapping: insert the mapping, then let the write through.
void thin_pool::complete_mapping(active_thin& t, io_piece& p, data_source& source)
{
	if (changes_no_metadata(mode_) ||
	    !metadata_op([&] { pmd_->insert_block(t.td, p.vblock, p.data_block); })) {
		p.state = piece_state::failed;
		p.error = io_error_code();
		return;
	}
	if (p.breaks_sharing)
		++stats_.sharing_broken;
	else
		++stats_.provisioned;
	if (!p.data_written)
		write_piece_data(p, p.data_block, source);
	p.state = piece_state::done;
}

// Bios queued for want of data space (queue_if_no_space) wait; meanwhile
// the worker commits once a second if anything changed, which may free
// blocks and put the pool back in write mode (the bios then run again).
// Otherwise no_space_timeout fails them with ENOSPC and from then on the
// pool errors such I/O at once.
void thin_pool::wait_out_no_space(active_thin& t, data_source& source)
{
	auto any_queued = [&] {
		return std::any_of(pieces_.begin(), pieces_.end(),
		                   [](const io_piece& p) { return p.state == piece_state::queued; });
	};
	while (any_queued()) {
		if (!changes_no_metadata(mode_) && pmd_->changed_this_transaction())
			commit();
		if (mode_ == pool_mode::write) {
			for (auto& p : pieces_)
				if (p.state == piece_state::queued)
					map_write_piece(t, p, source);
			for (auto& p : pieces_)
				if (p.state == piece_state::prepared)
					complete_mapping(t, p, source);
			continue;
		}
		int e = io_error_code();
		if (mode_ == pool_mode::out_of_data_space) {
			error_if_no_space_ = true;
			e = ENOSPC;
		}
		for (auto& p : pieces_)
			if (p.state == piece_state::queued) {
				p.state = piece_state::failed;
				p.error = e;
			}
	}
}

void thin_pool::write_piece_data(io_piece& p, uint64_t data_block, data_source& source)
{
	if (!data_.stores_data())
		return;
	uint64_t block_bytes = uint64_t(config_.block_size) * 512;
	buffer_.resize(staging_bytes);
	for (uint64_t done = 0, length = p.end - p.begin; done < length;) {
		uint64_t n = std::min<uint64_t>(length - done, staging_bytes);
		source.bytes(p.source_offset + done, n, buffer_.data());
		data_.write(data_block * block_bytes + p.begin + done, buffer_.data(), n);
		done += n;
	}
}

// Copies `length` bytes from the origin (or, with none, from the data
// device at from_offset) to the start of data block `data_block`.
void thin_pool::copy_into_block(uint64_t data_block, uint64_t block_offset, uint64_t length,
                                const external_origin* origin, uint64_t from_offset)
{
	if (!data_.stores_data())
		return;
	uint64_t block_bytes = uint64_t(config_.block_size) * 512;
	buffer_.resize(staging_bytes);
	for (uint64_t done = 0; done < length;) {
		uint64_t n = std::min<uint64_t>(length - done, staging_bytes);
		if (origin)
			origin->read(from_offset + done, buffer_.data(), n);
		else
			data_.read(from_offset + done, buffer_.data(), n);
		data_.write(data_block * block_bytes + block_offset + done, buffer_.data(), n);
		done += n;
	}
}

}
