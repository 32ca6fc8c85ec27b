#include "io/memory_block_store.h"

#include <cstring>

#include "base/error.h"
#include "base/text.h"

namespace thinmeta::io {

memory_block_store::memory_block_store(uint64_t nr_blocks)
    : nr_blocks_(nr_blocks), data_(nr_blocks * block_size, 0)
{
}

void memory_block_store::check_range(block_address first, uint64_t count) const
{
	if (first > nr_blocks_ || count > nr_blocks_ - first)
		throw error(cat("memory store: blocks ", first, "..", first + count, " are past the end (",
		                nr_blocks_, " blocks)"));
}

void memory_block_store::read_range(block_address first, uint64_t count, uint8_t* out) const
{
	check_range(first, count);
	std::memcpy(out, data_.data() + first * block_size, count * block_size);
}

void memory_block_store::write_range(block_address first, uint64_t count, const uint8_t* data)
{
	check_range(first, count);
	for (uint64_t i = 0; i < count; ++i) {
		++nr_block_writes_;
		if (!writes_left_)
			continue;
		--writes_left_;
		std::memcpy(data_.data() + (first + i) * block_size, data + i * block_size, block_size);
	}
}

void memory_block_store::resize(uint64_t nr_blocks)
{
	nr_blocks_ = nr_blocks;
	data_.resize(nr_blocks * block_size, 0);
}

}
