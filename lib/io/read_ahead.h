// Reads a known sequence of block batches on a background thread, one batch
// ahead of the consumer, so that reading (and whatever per-batch work is
// handed to the reader, such as checksums) overlaps with processing on the
// other core. Two buffers are in play: the one the consumer holds and the
// one being filled.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "io/aligned_buffer.h"
#include "io/block_device.h"

namespace thinmeta::io {

// The two buffers of a read_ahead. A caller reading a long sequence a slice
// at a time keeps one pair for all its slices: buffers of a megabyte or more
// made and freed per slice, between the small allocations of the work done
// meanwhile, leave the heap in pieces that are not given back.
struct read_ahead_buffers {
	aligned_buffer buffers[2];
};

class read_ahead {
public:
	// Runs on the reader thread once a batch is in memory.
	using prepare_fn = std::function<void(size_t batch, const uint8_t* blocks, size_t nr_blocks)>;

	// `batches` must outlive this object; each lists the blocks of one batch
	// in the order they are to land in the buffer.
	read_ahead(const block_device& dev, std::vector<std::span<const block_address>> batches,
	           prepare_fn prepare = {});
	// Reads into `buffers` (grown as needed), which must outlive this object.
	read_ahead(const block_device& dev, std::vector<std::span<const block_address>> batches, prepare_fn prepare,
	           read_ahead_buffers& buffers);
	~read_ahead();
	read_ahead(const read_ahead&) = delete;
	read_ahead& operator=(const read_ahead&) = delete;

	size_t nr_batches() const { return batches_.size(); }
	// Waits for the next batch and returns its blocks; the memory stays valid
	// until the following call. Rethrows what the reader thread threw.
	const uint8_t* next();

private:
	void run();

	const block_device& dev_;
	std::vector<std::span<const block_address>> batches_;
	prepare_fn prepare_;
	read_ahead_buffers own_buffers_;
	aligned_buffer (&buffers_)[2];

	std::mutex mutex_;
	std::condition_variable changed_;
	size_t filled_ = 0;    // batches ready (or being consumed)
	size_t handed_ = 0;    // batches handed to the consumer
	size_t consumed_ = 0;  // batches the consumer has finished with
	bool stop_ = false;
	std::exception_ptr failure_;
	std::thread reader_;
};

}
