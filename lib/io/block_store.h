// Where the block cache reads and writes whole 4 KiB blocks: a metadata
// device or image file (io::block_device), or a store held in memory by
// tests and the simulator (io::memory_block_store).
#pragma once

#include <cstdint>

#include "io/block.h"

namespace thinmeta::io {

class block_store {
public:
	virtual ~block_store() = default;

	virtual uint64_t nr_blocks() const = 0;
	// Reads blocks [first, first + count) into out (block-aligned).
	virtual void read_range(block_address first, uint64_t count, uint8_t* out) const = 0;
	virtual void write_range(block_address first, uint64_t count, const uint8_t* data) = 0;
	// Makes every write so far durable.
	virtual void flush() = 0;
};

}
