// Jobs run on threads of their own, a bounded number at once, their results
// taken back in the order the jobs were started: a stream of independent
// pieces of work (a pack file's records) spread over the cores while one
// thread keeps reading and writing in order. A job's exception is thrown
// again by take_oldest() when its turn comes. A job must own what it reads:
// destroying the set waits for the jobs still running.
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <future>
#include <thread>
#include <utility>

namespace thinmeta {

template <typename Result>
class ordered_jobs {
public:
	// At most `limit` jobs at once (at least one).
	explicit ordered_jobs(size_t limit) : limit_(std::max<size_t>(limit, 1)) {}
	ordered_jobs(const ordered_jobs&) = delete;
	ordered_jobs& operator=(const ordered_jobs&) = delete;

	// One job per core: the thread that starts them mostly waits.
	static size_t per_core() { return std::max(1u, std::thread::hardware_concurrency()); }

	// True when starting another job must wait for take_oldest().
	bool full() const { return running_.size() >= limit_; }
	bool empty() const { return running_.empty(); }

	// Starts job() on a thread of its own; the caller takes the oldest first
	// when full().
	template <typename Job>
	void start(Job&& job)
	{
		running_.push_back(std::async(std::launch::async, std::forward<Job>(job)));
	}

	// Waits for the oldest job still held and returns its result, or throws
	// what it threw.
	Result take_oldest()
	{
		std::future<Result> oldest = std::move(running_.front());
		running_.pop_front();
		return oldest.get();
	}

private:
	size_t limit_;
	std::deque<std::future<Result>> running_;
};

}
