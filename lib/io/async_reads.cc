#include "io/async_reads.h"

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
	std::vector<iocb> blocks(depth_);
	std::vector<iocb*> queue;
	std::vector<io_event> events(depth_);
	std::vector<unsigned> free_slots(depth_);
	for (unsigned s = 0; s < depth_; ++s)
		free_slots[s] = depth_ - 1 - s;

	size_t next = 0;      // the first read not yet queued
	size_t in_flight = 0;
	while (next < reads.size() || in_flight) {
		// Queue reads while there are free control blocks, then submit.
		queue.clear();
		while (next < reads.size() && !free_slots.empty()) {
			unsigned slot = free_slots.back();
			free_slots.pop_back();
			iocb& cb = blocks[slot] = {};
			cb.aio_data = next;
			cb.aio_lio_opcode = IOCB_CMD_PREADV;
			cb.aio_fildes = static_cast<uint32_t>(fd);
			cb.aio_buf = reinterpret_cast<uintptr_t>(reads[next].iov.data());
			cb.aio_nbytes = reads[next].iov.size();
			cb.aio_offset = static_cast<int64_t>(reads[next].offset);
			queue.push_back(&cb);
			++next;
		}
		size_t submitted = 0;
		while (submitted < queue.size()) {
			long n = io_submit(context_, static_cast<long>(queue.size() - submitted), queue.data() + submitted);
			if (n < 0) {
				if (errno == EINTR || (errno == EAGAIN && (in_flight || submitted)))
					break;  // reap completions first, then submit the rest
				throw io_error("cannot submit reads", errno);
			}
			submitted += static_cast<size_t>(n);
			in_flight += static_cast<size_t>(n);
		}
		// Return the control blocks of unsubmitted reads, and their reads.
		for (size_t q = queue.size(); q > submitted; --q) {
			free_slots.push_back(static_cast<unsigned>(queue[q - 1] - blocks.data()));
			--next;
		}

		if (!in_flight)
			continue;
		long got = io_getevents(context_, 1, static_cast<long>(events.size()), events.data());
		if (got < 0) {
			if (errno == EINTR)
				continue;
			throw io_error("cannot collect reads", errno);
		}
		for (long e = 0; e < got; ++e) {
			const io_event& ev = events[static_cast<size_t>(e)];
			reads[ev.data].result = ev.res;
			const auto* cb = reinterpret_cast<const iocb*>(static_cast<uintptr_t>(ev.obj));
			free_slots.push_back(static_cast<unsigned>(cb - blocks.data()));
			--in_flight;
		}
	}
}

}
