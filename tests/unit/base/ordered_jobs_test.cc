#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base/ordered_jobs.h"

using namespace thinmeta;
using namespace std::chrono_literals;

TEST_CASE("ordered_jobs hands results back in the order the jobs started", "[ordered_jobs]")
{
	ordered_jobs<int> jobs(3);
	std::vector<int> results;
	for (int i = 0; i < 12; ++i) {
		if (jobs.full())
			results.push_back(jobs.take_oldest());
		// Later jobs finish first.
		jobs.start([i] {
			std::this_thread::sleep_for(std::chrono::milliseconds(2 * (3 - i % 3)));
			return i;
		});
	}
	while (!jobs.empty())
		results.push_back(jobs.take_oldest());
	CHECK(results == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
}

TEST_CASE("ordered_jobs runs no more than its limit at once", "[ordered_jobs]")
{
	std::atomic<int> running{0}, most{0};
	ordered_jobs<int> jobs(2);
	for (int i = 0; i < 10; ++i) {
		if (jobs.full())
			jobs.take_oldest();
		jobs.start([&] {
			int now = ++running;
			for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);)
				;
			// Wait a while for a partner, so that the count says how many
			// may run at once rather than how soon threads start.
			for (int waited = 0; waited < 500 && running.load() < 2; ++waited)
				std::this_thread::sleep_for(1ms);
			std::this_thread::sleep_for(2ms);
			--running;
			return 0;
		});
	}
	while (!jobs.empty())
		jobs.take_oldest();
	CHECK(most.load() == 2);

	ordered_jobs<int> one(0);  // a limit of 0 means one
	CHECK_FALSE(one.full());
	one.start([] { return 0; });
	CHECK(one.full());
	CHECK(one.take_oldest() == 0);
}

TEST_CASE("ordered_jobs throws a job's exception when its turn comes", "[ordered_jobs]")
{
	ordered_jobs<int> jobs(4);
	jobs.start([] { return 1; });
	jobs.start([]() -> int { throw std::runtime_error("record 2 is damaged"); });
	jobs.start([] { return 3; });
	CHECK(jobs.take_oldest() == 1);
	CHECK_THROWS_WITH(jobs.take_oldest(), "record 2 is damaged");
	CHECK(jobs.take_oldest() == 3);
	CHECK(jobs.empty());
}

TEST_CASE("destroying ordered_jobs waits for the jobs still running", "[ordered_jobs]")
{
	std::atomic<int> finished{0};
	{
		ordered_jobs<int> jobs(2);
		for (int i = 0; i < 2; ++i)
			jobs.start([&] {
				std::this_thread::sleep_for(5ms);
				return ++finished;
			});
	}
	CHECK(finished.load() == 2);
}
