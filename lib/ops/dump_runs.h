// Grouping a device's mappings, fed in ascending origin order, into runs:
// a run grows while the next mapping continues both the origin and the data
// blocks and has the same time, as 0.9.0's thin_dump groups them.
#pragma once

#include <cstdint>
#include <utility>

#include "ops/dump_emitter.h"

namespace thinmeta::ops {

// `Emit` is called with each finished mapping_run.
template <typename Emit>
class mapping_run_grouper {
public:
	explicit mapping_run_grouper(Emit emit) : emit_(std::move(emit)) {}

	void add(uint64_t origin, uint64_t data, uint32_t time)
	{
		if (run_.length && origin == run_.origin_begin + run_.length && data == run_.data_begin + run_.length &&
		    time == run_.time) {
			++run_.length;
			return;
		}
		finish();
		run_ = {origin, data, 1, time};
	}

	// Emits the run in progress, if any; the next add() starts afresh.
	void finish()
	{
		if (run_.length)
			emit_(run_);
		run_.length = 0;
	}

private:
	Emit emit_;
	mapping_run run_;
};

}
