// Where a dump's content comes from: the pool header, the devices and each
// device's mappings in ascending origin order. The strict source reads sound
// metadata and stops at the first damage; a repairing source can stand in
// its place and feed the same emitters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/dump_emitter.h"
#include "pdata/btree_node.h"
#include "thin/metadata_reader.h"

namespace thinmeta::ops {

// Takes a device's mappings as they lie in its leaves, in ascending order:
// entries [begin, end) of `leaf`, keys are origin blocks and values packed
// block_time.
class mapping_sink {
public:
	virtual ~mapping_sink() = default;
	virtual void leaf_entries(const pdata::node_view& leaf, uint32_t begin, uint32_t end) = 0;
};

class dump_source {
public:
	virtual ~dump_source() = default;

	// The metadata file or device read, for messages.
	virtual const std::string& path() const = 0;

	virtual dump_pool_header pool() const = 0;
	// Every device, in ascending id order.
	virtual std::vector<thin::thin_device> devices() = 0;
	// Streams the device's mappings into `sink`.
	virtual void mappings(const thin::thin_device& device, mapping_sink& sink) = 0;
};

}
