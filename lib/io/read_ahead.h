// Reads a known sequence of block batches on a background thread, a few
// batches ahead of the consumer, and runs whatever per-batch work the caller
// gives it (checksums, say) there too, before the consumer sees the batch:
// reading and preparing overlap with processing on the other core. Where
// reads wait for the disk (a block device, read with O_DIRECT), preparing
// has a thread of its own, so the disk is kept busy while the batch before
// is prepared, and as many threads as the device's policy asks read
// batches side by side, so the disk always has requests queued. A file's
// reads are copies from the page cache: one thread reads and prepares them,
// unless the caller asks for two (see cached_readers).
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

// The buffers of a read_ahead: one the consumer holds, one being prepared
// and one for each batch being read. A caller reading a long sequence a
// slice at a time keeps one set for all its slices: buffers of a megabyte
// or more made and freed per slice, between the small allocations of the
// work done meanwhile, leave the heap in pieces that are not given back.
struct read_ahead_buffers {
	static constexpr size_t not_reading = 2;  // the consumer's and the one being prepared
	static constexpr size_t max_readers = 2;
	static constexpr size_t count = max_readers + not_reading;
	aligned_buffer buffers[count];
};

// Threads reading a file through the page cache. A third thread beside the
// consumer and one reader only takes work from them (thin_rmap of
// sim-1g.bin: 5-10% slower with it), unless reading and preparing are most
// of the work: thin_check, whose consumer visits what the reader has
// checksummed, checked and fingerprinted, left half its core idle with one
// (sim-4g.bin, 7 alternating runs: 1.59-1.72 s with one, 1.01-1.14 with
// two). Two readers each prepare the batches they read, in any order.
enum class cached_readers : uint8_t { one, two };

class read_ahead {
public:
	// Runs once a batch is in memory, on the reading thread or one of its
	// own (see above): batch after batch in order, but for cached reads with
	// cached_readers::two, where two batches may be prepared at once.
	using prepare_fn = std::function<void(size_t batch, const uint8_t* blocks, size_t nr_blocks)>;

	// `batches` must outlive this object; each lists the blocks of one batch
	// in the order they are to land in the buffer.
	read_ahead(const block_device& dev, std::vector<std::span<const block_address>> batches,
	           prepare_fn prepare = {}, cached_readers cached = cached_readers::one);
	// Reads into `buffers` (grown as needed), which must outlive this object.
	read_ahead(const block_device& dev, std::vector<std::span<const block_address>> batches, prepare_fn prepare,
	           read_ahead_buffers& buffers, cached_readers cached = cached_readers::one);
	~read_ahead();
	read_ahead(const read_ahead&) = delete;
	read_ahead& operator=(const read_ahead&) = delete;

	size_t nr_batches() const { return batches_.size(); }
	// Waits for the next batch and returns its blocks; the memory stays valid
	// until the following call. Rethrows what reading or preparing this
	// batch threw.
	const uint8_t* next();

private:
	// Reads batches first, first + step, ... (one reading thread's share).
	void read_batches(size_t first, size_t step);
	size_t nr_buffers() const { return nr_readers_ + read_ahead_buffers::not_reading; }
	void prepare_batches();
	// Prepares batch k on the calling thread and tells the consumer; false
	// if it failed.
	bool prepare(size_t k);
	// Batch k is done (read, or prepared); `prefix` counts the batches done
	// from the first, readers finishing out of order. Under the mutex.
	static void mark_done(std::vector<bool>& done, size_t& prefix, size_t k);
	// Records what went wrong with a batch; the consumer gets every batch
	// before it, then the exception.
	void fail(size_t batch, std::exception_ptr e);

	const block_device& dev_;
	std::vector<std::span<const block_address>> batches_;
	prepare_fn prepare_;
	bool prepare_apart_;  // on a thread of its own
	size_t nr_readers_;
	read_ahead_buffers own_buffers_;
	aligned_buffer (&buffers_)[read_ahead_buffers::count];

	std::mutex mutex_;
	std::condition_variable changed_;
	std::vector<bool> in_memory_;  // batch by batch, as the readers finish them
	size_t read_ = 0;              // batches in memory, all of them from the first
	std::vector<bool> ready_;      // batch by batch, as they are prepared
	size_t prepared_ = 0;          // batches ready for the consumer, all of them from the first
	size_t handed_ = 0;            // batches handed to the consumer
	size_t consumed_ = 0;          // batches the consumer has finished with
	bool stop_ = false;
	size_t failed_at_ = SIZE_MAX;  // the first batch that failed
	std::exception_ptr failure_;
	std::vector<std::thread> readers_;
	std::thread preparer_;
};

}
