#include "io/aligned_buffer.h"

#include <cstdlib>
#include <cstring>
#include <new>

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
	void* p = nullptr;
	if (posix_memalign(&p, block_size, nr_blocks * block_size))
		throw std::bad_alloc();
	data_.reset(static_cast<uint8_t*>(p));
	nr_blocks_ = nr_blocks;
}

}
