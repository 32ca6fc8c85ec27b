// Writes metadata built from nothing (restore, repair) to a device: block
// numbers are handed out in order from a cursor, each block is sealed as it
// arrives and goes out with the others in large sequential writes. It keeps
// the reference count of every block it handed out, which is what the
// metadata space map is later written from. Past the end of the device it
// goes on counting blocks without writing them, so a build that does not fit
// can say how much room it needed.
#pragma once

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "io/aligned_buffer.h"
#include "io/block_device.h"
#include "pdata/block_checksum.h"

namespace thinmeta::pdata {

// The device cannot hold what is being built.
class output_too_small : public error {
public:
	using error::error;
};

class bulk_block_writer {
public:
	// Blocks below `first` are reserved for the caller (superblock, space map
	// index and bitmaps) and written with write_at(). `nr_blocks` is how many
	// blocks of `dev` the metadata may use.
	bulk_block_writer(io::block_device& dev, uint64_t nr_blocks, block_address first,
	                  size_t buffer_blocks = 2048);

	// Gives `block` the next block number (stored at offset 8), seals it as a
	// `kind` block and queues it. `block` itself is left as it was.
	block_address append(const uint8_t* block, block_kind kind);
	// Reads back a block appended earlier.
	void read(block_address b, uint8_t* out);
	// Writes a reserved block (below `first`): location, seal, write.
	void write_at(block_address b, const uint8_t* block, block_kind kind);
	// Writes out everything queued.
	void flush();

	// Blocks handed out so far, reserved ones included.
	block_address nr_used() const { return next_; }
	uint64_t nr_blocks() const { return nr_blocks_; }
	bool overflowed() const { return next_ > nr_blocks_; }
	io::block_device& device() { return dev_; }

	// Reference counts of the blocks handed out (reserved ones start at 0 too).
	void inc(block_address b, uint32_t by = 1) { counts_[b] += by; }
	void dec(block_address b) { --counts_[b]; }
	uint32_t count(block_address b) const { return b < counts_.size() ? counts_[b] : 0; }

private:
	void prepare(uint8_t* slot, block_address where, block_kind kind);

	io::block_device& dev_;
	uint64_t nr_blocks_;
	block_address next_;
	io::aligned_buffer buffer_;
	size_t capacity_;
	block_address buffer_first_;  // block number of buffer slot 0
	size_t buffered_ = 0;
	std::vector<uint32_t> counts_;
};

}
