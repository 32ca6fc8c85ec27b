#include "io/async_reads.h"

#include <algorithm>
#include <cerrno>
#include <linux/aio_abi.h>
#include <sys/syscall.h>
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

async_reads::async_reads(unsigned depth) : depth_(depth)
{
	aio_context_t ctx = 0;
	if (io_setup(depth, &ctx) < 0)
		throw io_error("cannot set up asynchronous reads", errno);
	context_ = ctx;
}

async_reads::~async_reads()
{
	io_destroy(context_);
}

void async_reads::run(int fd, std::span<vector_read> reads)
{
	std::lock_guard hold(turn_);
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
			long n = io_submit(context_, static_cast<long>(room), queue.data() + submitted);
			if (n >= 0)
				submitted += static_cast<size_t>(n);
			else if (errno != EINTR && !(errno == EAGAIN && submitted > done))
				throw io_error("cannot submit reads", errno);
			// else: reap completions first, then submit the rest
		}
		if (submitted == done)
			continue;
		long got = io_getevents(context_, 1, static_cast<long>(events.size()), events.data());
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
