// What a dump says, independent of how it is printed: the pool's header, each
// device's details and its mappings as runs. The XML and human-readable
// formats are two emitters behind this interface.
#pragma once

#include <cstdint>

#include "thin/device_details.h"

namespace thinmeta::ops {

// The superblock fields a dump prints.
struct dump_pool_header {
	uint32_t time = 0;
	uint64_t transaction = 0;
	uint32_t flags = 0;
	uint32_t version = 0;
	uint32_t data_block_size = 0;  // sectors
	uint64_t nr_data_blocks = 0;   // 0 when dumping a metadata snapshot
};

struct dump_device_header {
	uint64_t id = 0;
	thin::device_details details;
};

// `length` mappings: origin_begin + i -> data_begin + i, all written at `time`.
struct mapping_run {
	uint64_t origin_begin = 0;
	uint64_t data_begin = 0;
	uint64_t length = 0;
	uint32_t time = 0;

	bool operator==(const mapping_run&) const = default;
};

class dump_emitter {
public:
	virtual ~dump_emitter() = default;

	virtual void begin_pool(const dump_pool_header& pool) = 0;
	virtual void begin_device(const dump_device_header& device) = 0;
	virtual void run(const mapping_run& r) = 0;
	virtual void end_device() = 0;
	virtual void end_pool() = 0;

	// Hands all text so far to the stream. Throws thinmeta::error once the
	// stream has failed (a closed pipe, a full disk), so a dump stops early.
	virtual void flush() = 0;
	// Throws as flush() does if the stream has failed; cheap enough to call
	// after every leaf.
	virtual void check_output() const = 0;
};

}
