// A heap buffer of whole blocks aligned to the block size, as O_DIRECT needs.
// A buffer of 2 MiB or more is made of whole 2 MiB pages where the kernel
// allows them (transparent huge pages on madvise): a direct read into it is
// a few physically contiguous segments rather than one per 4 KiB page, so
// the block layer need not split it (a loop device takes 128 segments per
// request: 512 KiB of small pages), and copies into it miss the TLB less.
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

	// The size of a huge page, from which buffers are made of them.
	static constexpr size_t huge_page_bytes = size_t(2) << 20;

private:
	struct free_deleter {
		void operator()(uint8_t* p) const;
	};
	std::unique_ptr<uint8_t, free_deleter> data_;
	size_t nr_blocks_ = 0;
};

}
