// Many reads of one file in flight at once, through Linux's native
// asynchronous I/O. Opened with O_DIRECT, a device queues them all, so a
// batch of scattered reads waits about one request's latency rather than
// one per read (read one after another, a level of a tree whose nodes lie
// far apart costs a latency per node).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include <sys/uio.h>

namespace thinmeta::io {

// One read into a vector of buffers; `result` is set to the bytes read
// (fewer at the end of the file) or to -errno.
struct vector_read {
	uint64_t offset = 0;
	std::span<iovec> iov;
	int64_t result = 0;
};

class async_reads {
public:
	// At most `depth` reads in flight for each of up to `callers` threads
	// running reads at once. Throws io_error when the kernel gives no
	// context (no AIO, or the system's aio-max-nr reached).
	explicit async_reads(unsigned depth, unsigned callers = 1);
	~async_reads();
	async_reads(const async_reads&) = delete;
	async_reads& operator=(const async_reads&) = delete;

	// Issues every read and waits for them all. Each of up to `callers`
	// threads calling at once has a context of its own (a context's
	// completions are not theirs to share); more wait their turn. Throws
	// io_error only when the kernel refuses a submission outright.
	void run(int fd, std::span<vector_read> reads);

private:
	void run_in(unsigned long context, int fd, std::span<vector_read> reads);

	std::mutex mutex_;
	std::condition_variable returned_;
	std::vector<unsigned long> contexts_;  // aio_context_t each
	std::vector<unsigned long> free_;      // those no caller holds
	unsigned depth_;
};

}
