#include "io/async_reads.h"

#include <algorithm>
#include <cerrno>
#include <linux/aio_abi.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "base/error.h"

namespace thinmeta::io {

namespace {

long io_setup(unsigned nr, aio_context_t* ctx)
{
	return ::syscall(SYS_io_setup, nr, ctx);
}

long io_destroy(aio_context_t ctx)
{
	return ::syscall(SYS_io_destroy, ctx);
}

long io_submit(aio_context_t ctx, long nr, iocb** iocbs)
{
	return ::syscall(SYS_io_submit, ctx, nr, iocbs);
}

long io_getevents(aio_context_t ctx, long min_nr, long nr, io_event* events)
{
	return ::syscall(SYS_io_getevents, ctx, min_nr, nr, events, nullptr);
}

}

async_reads::async_reads(unsigned depth, unsigned callers) : depth_(depth)
{
	for (unsigned k = 0; k < std::max(callers, 1u); ++k) {
		aio_context_t ctx = 0;
		if (io_setup(depth, &ctx) < 0) {
			int err = errno;
			for (auto c : contexts_)
				io_destroy(c);
			throw io_error("cannot set up asynchronous reads", err);
		}
		contexts_.push_back(ctx);
	}
	free_ = contexts_;
}

async_reads::~async_reads()
{
	// io_destroy returns once the kernel has retired the context, after an
	// RCU grace period or two (30 to 60 ms seen here): the contexts retire
	// side by side, so that each one costs no more time than the first.
	std::vector<std::thread> retiring;
	for (size_t k = 1; k < contexts_.size(); ++k) {
		try {
			retiring.emplace_back([c = contexts_[k]] { io_destroy(c); });
		} catch (...) {
			io_destroy(contexts_[k]);
		}
	}
	if (!contexts_.empty())
		io_destroy(contexts_[0]);
	for (auto& t : retiring)
		t.join();
}

void async_reads::run(int fd, std::span<vector_read> reads)
{
	unsigned long context;
	{
		std::unique_lock lock(mutex_);
		returned_.wait(lock, [&] { return !free_.empty() || contexts_.empty(); });
		if (contexts_.empty())
			throw io_error("cannot set up asynchronous reads again after a failure", EAGAIN);
		context = free_.back();
		free_.pop_back();
	}
	try {
		run_in(context, fd, reads);
	} catch (...) {
		// Reads still in flight would hand their completions to the next
		// caller: the context goes, once they are done (io_destroy waits),
		// and a new one takes its place.
		io_destroy(context);
		aio_context_t fresh = 0;
		bool renewed = io_setup(depth_, &fresh) == 0;
		{
			std::lock_guard lock(mutex_);
			std::erase(contexts_, context);
			if (renewed) {
				contexts_.push_back(fresh);
				free_.push_back(fresh);
			}
		}
		returned_.notify_one();
		throw;
	}
	{
		std::lock_guard lock(mutex_);
		free_.push_back(context);
	}
	returned_.notify_one();
}

void async_reads::run_in(unsigned long context, int fd, std::span<vector_read> reads)
{
	// The kernel copies a control block when it is submitted; one each, in
	// the order of the reads, submitted as room in the queue allows.
	std::vector<iocb> blocks(reads.size());
	std::vector<iocb*> queue(reads.size());
	for (size_t r = 0; r < reads.size(); ++r) {
		iocb& cb = blocks[r];
		cb.aio_data = r;
		cb.aio_lio_opcode = IOCB_CMD_PREADV;
		cb.aio_fildes = static_cast<uint32_t>(fd);
		cb.aio_buf = reinterpret_cast<uintptr_t>(reads[r].iov.data());
		cb.aio_nbytes = reads[r].iov.size();
		cb.aio_offset = static_cast<int64_t>(reads[r].offset);
		queue[r] = &cb;
	}
	std::vector<io_event> events(depth_);
	size_t submitted = 0;
	size_t done = 0;
	while (done < reads.size()) {
		size_t room = std::min<size_t>(depth_ - (submitted - done), reads.size() - submitted);
		if (room) {
			long n = io_submit(context, static_cast<long>(room), queue.data() + submitted);
			if (n >= 0)
				submitted += static_cast<size_t>(n);
			else if (errno != EINTR && !(errno == EAGAIN && submitted > done))
				throw io_error("cannot submit reads", errno);
			// else: reap completions first, then submit the rest
		}
		if (submitted == done)
			continue;
		long got = io_getevents(context, 1, static_cast<long>(events.size()), events.data());
		if (got < 0) {
			if (errno == EINTR)
				continue;
			throw io_error("cannot collect reads", errno);
		}
		for (long e = 0; e < got; ++e)
			reads[events[static_cast<size_t>(e)].data].result = events[static_cast<size_t>(e)].res;
		done += static_cast<size_t>(got);
	}
}

}
