#include "io/read_ahead.h"

#include <algorithm>

namespace thinmeta::io {

read_ahead::read_ahead(const block_device& dev, std::vector<std::span<const block_address>> batches,
                       prepare_fn prepare, cached_readers cached)
    : read_ahead(dev, std::move(batches), std::move(prepare), own_buffers_, cached)
{
}

read_ahead::read_ahead(const block_device& dev, std::vector<std::span<const block_address>> batches,
                       prepare_fn prepare, read_ahead_buffers& buffers, cached_readers cached)
    : dev_(dev), batches_(std::move(batches)), prepare_(std::move(prepare)),
      prepare_apart_(prepare_ && dev.policy().reads_wait),
      nr_readers_(dev.policy().reads_wait
                      ? std::clamp<size_t>(dev.policy().batches_in_flight, 1, read_ahead_buffers::max_readers)
                      : (cached == cached_readers::two ? 2 : 1)),
      buffers_(buffers.buffers), in_memory_(batches_.size()), ready_(batches_.size())
{
	size_t largest = 1;
	for (auto& b : batches_)
		largest = std::max(largest, b.size());
	for (size_t k = 0; k < nr_buffers(); ++k)
		buffers_[k].reserve(largest);
	if (batches_.empty())
		return;
	for (size_t r = 0; r < std::min(nr_readers_, batches_.size()); ++r)
		readers_.emplace_back([this, r] { read_batches(r, nr_readers_); });
	if (prepare_apart_)
		preparer_ = std::thread([this] { prepare_batches(); });
}

read_ahead::~read_ahead()
{
	{
		std::lock_guard lock(mutex_);
		stop_ = true;
	}
	changed_.notify_all();
	for (auto& reader : readers_)
		reader.join();
	if (preparer_.joinable())
		preparer_.join();
}

void read_ahead::mark_done(std::vector<bool>& done, size_t& prefix, size_t k)
{
	done[k] = true;
	while (prefix < done.size() && done[prefix])
		++prefix;
}

void read_ahead::fail(size_t batch, std::exception_ptr e)
{
	{
		std::lock_guard lock(mutex_);
		if (batch < failed_at_) {
			failed_at_ = batch;
			failure_ = e;
		}
	}
	changed_.notify_all();
}

void read_ahead::read_batches(size_t first, size_t step)
{
	for (size_t k = first; k < batches_.size(); k += step) {
		{
			// Batch k reuses the buffer of batch k - nr_buffers(), free once
			// the consumer has moved past that batch. A failure in a later
			// batch (another reader's) leaves this one to be read: the
			// consumer gets every batch before the failure.
			std::unique_lock lock(mutex_);
			changed_.wait(lock, [&] { return stop_ || failed_at_ < k || consumed_ + nr_buffers() > k; });
			if (stop_ || failed_at_ < k)
				return;
		}
		try {
			dev_.read_blocks(batches_[k], buffers_[k % nr_buffers()].data());
		} catch (...) {
			fail(k, std::current_exception());
			return;
		}
		{
			std::lock_guard lock(mutex_);
			mark_done(in_memory_, read_, k);
			if (!prepare_)
				prepared_ = read_;
		}
		changed_.notify_all();
		if (prepare_ && !prepare_apart_ && !prepare(k))
			return;
	}
}

void read_ahead::prepare_batches()
{
	for (size_t k = 0; k < batches_.size(); ++k) {
		{
			std::unique_lock lock(mutex_);
			changed_.wait(lock, [&] { return stop_ || read_ > k || failed_at_ <= k; });
			if (stop_ || read_ <= k)
				return;
		}
		if (!prepare(k))
			return;
	}
}

bool read_ahead::prepare(size_t k)
{
	try {
		prepare_(k, buffers_[k % nr_buffers()].data(), batches_[k].size());
	} catch (...) {
		fail(k, std::current_exception());
		return false;
	}
	{
		std::lock_guard lock(mutex_);
		mark_done(ready_, prepared_, k);
	}
	changed_.notify_all();
	return true;
}

const uint8_t* read_ahead::next()
{
	std::unique_lock lock(mutex_);
	// Asking for the next batch means the one handed out before is done with.
	consumed_ = handed_;
	changed_.notify_all();
	size_t k = handed_++;
	changed_.wait(lock, [&] { return prepared_ > k || failed_at_ <= k; });
	if (prepared_ <= k)
		std::rethrow_exception(failure_);
	return buffers_[k % nr_buffers()].data();
}

}
