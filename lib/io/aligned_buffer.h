// A heap buffer of whole blocks aligned to the block size, as O_DIRECT needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "io/block.h"

namespace thinmeta::io {

class aligned_buffer {
public:
	aligned_buffer() = default;
	explicit aligned_buffer(size_t nr_blocks, bool zeroed = false);

	uint8_t* data() { return data_.get(); }
	const uint8_t* data() const { return data_.get(); }
	uint8_t* block(size_t i) { return data_.get() + i * block_size; }
	const uint8_t* block(size_t i) const { return data_.get() + i * block_size; }
	size_t nr_blocks() const { return nr_blocks_; }

	// Grows (never shrinks) to hold at least nr_blocks; contents are not kept.
	void reserve(size_t nr_blocks);

private:
	struct free_deleter {
		void operator()(uint8_t* p) const;
	};
	std::unique_ptr<uint8_t, free_deleter> data_;
	size_t nr_blocks_ = 0;
};

}
