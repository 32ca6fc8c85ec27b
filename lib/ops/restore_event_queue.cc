#include "ops/restore_event_queue.h"

namespace thinmeta::ops {

void event_batch::clear()
{
	events.clear();
	mappings.clear();
	devices.clear();
	superblocks.clear();
	names.clear();
	input_done = 0;
}

void event_batch::replay(restore_events& to, input_place& at) const
{
	for (const event& e : events) {
		at = e.place;
		switch (e.what) {
		case kind::mapping:
			to.mapping(mappings[e.index]);
			break;
		case kind::begin_device:
			to.begin_device(devices[e.index]);
			break;
		case kind::end_device:
			to.end_device();
			break;
		case kind::ref:
			to.ref(names[e.index]);
			break;
		case kind::begin_def:
			to.begin_def(names[e.index]);
			break;
		case kind::end_def:
			to.end_def();
			break;
		case kind::begin_superblock:
			to.begin_superblock(superblocks[e.index]);
			break;
		case kind::end_superblock:
			to.end_superblock();
			break;
		}
	}
}

restore_event_queue::restore_event_queue(size_t max_batches, size_t batch_events)
    : max_batches_(max_batches), batch_events_(batch_events), filling_(std::make_unique<event_batch>())
{
}

std::unique_ptr<event_batch> restore_event_queue::take_free()
{
	if (free_.empty())
		return std::make_unique<event_batch>();
	auto b = std::move(free_.back());
	free_.pop_back();
	b->clear();
	return b;
}

bool restore_event_queue::hand_over(uint64_t input_done)
{
	filling_->input_done = input_done;
	std::unique_lock lock(mutex_);
	changed_.wait(lock, [&] { return stopped_ || in_flight_ < max_batches_; });
	if (stopped_)
		return false;
	full_.push_back(std::move(filling_));
	++in_flight_;
	filling_ = take_free();
	changed_.notify_all();
	return true;
}

void restore_event_queue::close(std::exception_ptr failure)
{
	std::lock_guard lock(mutex_);
	if (!filling_->events.empty()) {
		full_.push_back(std::move(filling_));
		++in_flight_;
		filling_ = std::make_unique<event_batch>();
	}
	failure_ = failure;
	closed_ = true;
	changed_.notify_all();
}

const event_batch* restore_event_queue::next()
{
	std::unique_lock lock(mutex_);
	changed_.wait(lock, [&] { return !full_.empty() || closed_; });
	if (full_.empty())
		return nullptr;
	reading_ = std::move(full_.front());
	full_.pop_front();
	return reading_.get();
}

void restore_event_queue::done(const event_batch* batch)
{
	std::lock_guard lock(mutex_);
	if (reading_ && reading_.get() == batch) {
		free_.push_back(std::move(reading_));
		--in_flight_;
		changed_.notify_all();
	}
}

void restore_event_queue::stop()
{
	std::lock_guard lock(mutex_);
	stopped_ = true;
	changed_.notify_all();
}

void event_recorder::add(event_batch::kind what, size_t index)
{
	event_batch& b = queue_.current();
	b.events.push_back({what, static_cast<uint32_t>(index), at_});
	if (queue_.batch_full() && !queue_.hand_over(input_done_))
		throw event_queue_stopped{};
}

void event_recorder::begin_superblock(const superblock_event& sb)
{
	event_batch& b = queue_.current();
	b.superblocks.push_back(sb);
	add(event_batch::kind::begin_superblock, b.superblocks.size() - 1);
}

void event_recorder::begin_def(std::string_view name)
{
	event_batch& b = queue_.current();
	b.names.emplace_back(name);
	add(event_batch::kind::begin_def, b.names.size() - 1);
}

void event_recorder::begin_device(const device_event& dev)
{
	event_batch& b = queue_.current();
	b.devices.push_back(dev);
	add(event_batch::kind::begin_device, b.devices.size() - 1);
}

void event_recorder::mapping(const mapping_event& m)
{
	event_batch& b = queue_.current();
	b.mappings.push_back(m);
	add(event_batch::kind::mapping, b.mappings.size() - 1);
}

void event_recorder::ref(std::string_view name)
{
	event_batch& b = queue_.current();
	b.names.emplace_back(name);
	add(event_batch::kind::ref, b.names.size() - 1);
}

}
