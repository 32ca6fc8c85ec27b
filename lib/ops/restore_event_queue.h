// Restore events passed from one thread to another in order: the XML reader
// parses on one thread while the metadata is built on the caller's. Events
// are recorded into batches with the place in the input they came from, and
// replayed on the other side; the number of batches in flight is bounded,
// so memory does not grow with the input. An error on the producing side
// travels as the last item, after every event before it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ops/restore_events.h"

namespace thinmeta::ops {

struct input_place {
	uint64_t line = 0;
	uint64_t column = 0;
};

// Events in the order they came, with where each came from.
struct event_batch {
	enum class kind : uint8_t { begin_superblock, end_superblock, begin_def, end_def, begin_device, end_device,
		                        mapping, ref };
	struct event {
		kind what;
		uint32_t index;  // into the vector its kind uses
		input_place place;
	};

	std::vector<event> events;
	std::vector<mapping_event> mappings;
	std::vector<device_event> devices;
	std::vector<superblock_event> superblocks;
	std::vector<std::string> names;
	uint64_t input_done = 0;  // bytes of input read when the batch was handed over

	void clear();
	// Calls `events` for each event; `at` is set to its place first.
	void replay(restore_events& to, input_place& at) const;
};

class restore_event_queue {
public:
	explicit restore_event_queue(size_t max_batches = 4, size_t batch_events = 8192);

	// Producer side.
	event_batch& current() { return *filling_; }
	bool batch_full() const { return filling_->events.size() >= batch_events_; }
	// Hands the current batch over (waiting while max_batches are in flight)
	// and starts a new one. Returns false once the consumer has stopped.
	bool hand_over(uint64_t input_done);
	// Ends the stream, with the error that ended it if any.
	void close(std::exception_ptr failure = nullptr);

	// Consumer side: the next batch, or nullptr at the end of the stream.
	const event_batch* next();
	// Gives back the batch next() returned.
	void done(const event_batch* batch);
	std::exception_ptr failure() const { return failure_; }
	// The consumer gives up: the producer's next hand_over() returns false.
	void stop();

private:
	std::unique_ptr<event_batch> take_free();

	size_t max_batches_;
	size_t batch_events_;
	std::unique_ptr<event_batch> filling_;
	std::mutex mutex_;
	std::condition_variable changed_;
	std::deque<std::unique_ptr<event_batch>> full_;
	std::vector<std::unique_ptr<event_batch>> free_;
	std::unique_ptr<event_batch> reading_;
	size_t in_flight_ = 0;
	bool closed_ = false;
	bool stopped_ = false;
	std::exception_ptr failure_;
};

// Thrown on the producing side when the consumer has stopped.
struct event_queue_stopped {};

// A restore_events that records into a queue's batches, each event at the
// place `at` holds when it arrives. A full batch is handed over with
// `input_done` as the progress it stands for.
class event_recorder final : public restore_events {
public:
	event_recorder(restore_event_queue& queue, const input_place& at, const uint64_t& input_done)
	    : queue_(queue), at_(at), input_done_(input_done)
	{
	}

	void begin_superblock(const superblock_event& sb) override;
	void end_superblock() override { add(event_batch::kind::end_superblock, 0); }
	void begin_def(std::string_view name) override;
	void end_def() override { add(event_batch::kind::end_def, 0); }
	void begin_device(const device_event& dev) override;
	void end_device() override { add(event_batch::kind::end_device, 0); }
	void mapping(const mapping_event& m) override;
	void ref(std::string_view name) override;

private:
	void add(event_batch::kind what, size_t index);

	restore_event_queue& queue_;
	const input_place& at_;
	const uint64_t& input_done_;
};

}
