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
    : dev_(dev), batches_(std::move(batches)), prepare_(std::move(prepare)), buffers_(buffers.buffers)
{
	size_t largest = 1;
	for (auto& b : batches_)
		largest = std::max(largest, b.size());
	buffers_[0].reserve(largest);
	buffers_[1].reserve(largest);
	if (!batches_.empty())
		reader_ = std::thread([this] { run(); });
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
}

void read_ahead::run()
{
	for (size_t k = 0; k < batches_.size(); ++k) {
		{
			// Batch k reuses the buffer of batch k - 2, free once the
			// consumer has moved past batch k - 2.
			std::unique_lock lock(mutex_);
			changed_.wait(lock, [&] { return stop_ || consumed_ + 2 > k; });
			if (stop_)
				return;
		}
		try {
			uint8_t* buf = buffers_[k % 2].data();
			dev_.read_blocks(batches_[k], buf);
			if (prepare_)
				prepare_(k, buf, batches_[k].size());
		} catch (...) {
			std::lock_guard lock(mutex_);
			failure_ = std::current_exception();
			filled_ = batches_.size();
			changed_.notify_all();
			return;
		}
		{
			std::lock_guard lock(mutex_);
			filled_ = k + 1;
		}
		changed_.notify_all();
	}
}

const uint8_t* read_ahead::next()
{
	std::unique_lock lock(mutex_);
	// Asking for the next batch means the one handed out before is done with.
	consumed_ = handed_;
	changed_.notify_all();
	size_t k = handed_++;
	changed_.wait(lock, [&] { return filled_ > k || failure_; });
	if (failure_)
		std::rethrow_exception(failure_);
	return buffers_[k % 2].data();
}

}
