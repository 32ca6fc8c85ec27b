#include "pdata/bulk_block_writer.h"

#include <algorithm>
#include <cstring>

#include "base/endian.h"
#include "base/text.h"

namespace thinmeta::pdata {

bulk_block_writer::bulk_block_writer(io::block_device& dev, uint64_t nr_blocks, block_address first,
                                     size_t buffer_blocks)
    : dev_(dev), nr_blocks_(std::min(nr_blocks, dev.nr_blocks())), next_(first), buffer_(buffer_blocks),
      capacity_(buffer_blocks), buffer_first_(first), counts_(first, 0)
{
}

void bulk_block_writer::prepare(uint8_t* slot, block_address where, block_kind kind)
{
	store_le64(slot + 8, where);
	seal_block(slot, kind);
}

block_address bulk_block_writer::append(const uint8_t* block, block_kind kind)
{
	if (buffered_ == capacity_)
		flush();
	block_address where = next_++;
	uint8_t* slot = buffer_.block(buffered_++);
	std::memcpy(slot, block, block_size);
	prepare(slot, where, kind);
	counts_.push_back(0);
	return where;
}

void bulk_block_writer::flush()
{
	if (buffer_first_ < nr_blocks_) {
		uint64_t n = std::min<uint64_t>(buffered_, nr_blocks_ - buffer_first_);
		dev_.write_range(buffer_first_, n, buffer_.data());
	}
	buffer_first_ += buffered_;
	buffered_ = 0;
}

void bulk_block_writer::read(block_address b, uint8_t* out)
{
	if (b >= buffer_first_ && b < buffer_first_ + buffered_) {
		std::memcpy(out, buffer_.block(b - buffer_first_), block_size);
		return;
	}
	if (b >= next_)
		throw error(cat("internal error: block ", b, " was never written"));
	if (b >= nr_blocks_)
		throw output_too_small(cat(dev_.path(), " is too small: the metadata needs more than its ", nr_blocks_,
		                           " blocks"));
	io::aligned_buffer one(1);
	dev_.read_block(b, one.data());
	std::memcpy(out, one.data(), block_size);
}

void bulk_block_writer::write_at(block_address b, const uint8_t* block, block_kind kind)
{
	if (b >= nr_blocks_)
		return;  // the caller reports the shortage once everything is counted
	io::aligned_buffer one(1);
	std::memcpy(one.data(), block, block_size);
	prepare(one.data(), b, kind);
	dev_.write_block(b, one.data());
}

}
