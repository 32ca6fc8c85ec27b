// What the transaction manager and the b-trees need from a space map: the
// reference count of every block, allocation of free blocks, and a root to
// publish at commit. Implemented by the metadata space map (over metadata
// blocks) and the data space map (over data blocks), as in the kernel.
#pragma once

#include <cstdint>

#include "base/error.h"
#include "io/block.h"
#include "pdata/space_map_disk.h"

namespace thinmeta::pdata {

// Raised when a space map has no block left to allocate (the kernel's ENOSPC).
class no_space_error : public error {
public:
	using error::error;
};

class space_map {
public:
	virtual ~space_map() = default;

	virtual uint64_t nr_blocks() const = 0;
	// Free blocks as the kernel counts them: free at the last commit, less
	// the blocks allocated since.
	virtual uint64_t nr_free() const = 0;
	virtual uint32_t get_count(block_address b) = 0;
	virtual bool count_is_more_than_one(block_address b) = 0;
	virtual void set_count(block_address b, uint32_t count) = 0;
	// Counts of blocks [b, e) go up or down by one.
	virtual void inc_range(block_address b, block_address e) = 0;
	virtual void dec_range(block_address b, block_address e) = 0;
	// A block free now and at the last commit, next-fit; its count becomes 1.
	virtual block_address new_block() = 0;
	virtual void commit() = 0;
	virtual void extend(uint64_t extra_blocks) = 0;
	virtual sm_root root() const = 0;

	void inc(block_address b) { inc_range(b, b + 1); }
	void dec(block_address b) { dec_range(b, b + 1); }
};

}
