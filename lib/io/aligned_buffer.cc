#include "io/aligned_buffer.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include <sys/mman.h>

namespace thinmeta::io {

void aligned_buffer::free_deleter::operator()(uint8_t* p) const
{
	std::free(p);
}

aligned_buffer::aligned_buffer(size_t nr_blocks, bool zeroed)
{
	reserve(nr_blocks);
	if (zeroed && nr_blocks)
		std::memset(data_.get(), 0, nr_blocks * block_size);
}

void aligned_buffer::reserve(size_t nr_blocks)
{
	if (nr_blocks <= nr_blocks_)
		return;
	size_t bytes = nr_blocks * block_size;
	bool huge = bytes >= huge_page_bytes;
	if (huge) {
		// Whole huge pages: the rest of the last one holds more blocks.
		bytes = (bytes + huge_page_bytes - 1) / huge_page_bytes * huge_page_bytes;
		nr_blocks = bytes / block_size;
	}
	void* p = nullptr;
	if (posix_memalign(&p, huge ? huge_page_bytes : block_size, bytes))
		throw std::bad_alloc();
	// Only advice: without huge pages the buffer is made of small ones.
	if (huge)
		::madvise(p, bytes, MADV_HUGEPAGE);
	data_.reset(static_cast<uint8_t*>(p));
	nr_blocks_ = nr_blocks;
}

}
