#include "io/read_ahead.h"

#include <algorithm>

namespace thinmeta::io {

read_ahead::read_ahead(const block_device& dev, std::vector<std::span<const block_address>> batches,
                       prepare_fn prepare)
    : read_ahead(dev, std::move(batches), std::move(prepare), own_buffers_)
{
}

read_ahead::read_ahead(const block_device& dev, std::vector<std::span<const block_address>> batches,
                       prepare_fn prepare, read_ahead_buffers& buffers)
    : dev_(dev), batches_(std::move(batches)), prepare_(std::move(prepare)),
      prepare_apart_(prepare_ && dev.policy().reads_wait), buffers_(buffers.buffers)
{
	size_t largest = 1;
	for (auto& b : batches_)
		largest = std::max(largest, b.size());
	for (auto& buffer : buffers_)
		buffer.reserve(largest);
	if (batches_.empty())
		return;
	reader_ = std::thread([this] { read_batches(); });
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
	if (reader_.joinable())
		reader_.join();
	if (preparer_.joinable())
		preparer_.join();
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

void read_ahead::read_batches()
{
	constexpr size_t nr_buffers = read_ahead_buffers::count;
	for (size_t k = 0; k < batches_.size(); ++k) {
		{
			// Batch k reuses the buffer of batch k - nr_buffers, free once
			// the consumer has moved past that batch.
			std::unique_lock lock(mutex_);
			changed_.wait(lock, [&] { return stop_ || failure_ || consumed_ + nr_buffers > k; });
			if (stop_ || failure_)
				return;
		}
		try {
			dev_.read_blocks(batches_[k], buffers_[k % nr_buffers].data());
		} catch (...) {
			fail(k, std::current_exception());
			return;
		}
		{
			std::lock_guard lock(mutex_);
			read_ = k + 1;
			if (!prepare_)
				prepared_ = k + 1;
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
		prepare_(k, buffers_[k % read_ahead_buffers::count].data(), batches_[k].size());
	} catch (...) {
		fail(k, std::current_exception());
		return false;
	}
	{
		std::lock_guard lock(mutex_);
		prepared_ = k + 1;
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
	return buffers_[k % read_ahead_buffers::count].data();
}

}
