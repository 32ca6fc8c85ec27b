// Turns restore events into thin-pool metadata on a device, bottom-up and in
// one pass: each device's mapping tree is built as its mappings arrive,
// then the device details and top-level trees, the data space map from the
// recounted data references, the metadata space map, and the superblock
// last. It checks what it is given (order, duplicates, data blocks past the
// end, sharing between devices that cannot share, 24-bit times) and throws
// bad_input naming the device and block; the event source adds the place.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "io/block_device.h"
#include "ops/restore_events.h"

namespace thinmeta::ops {

// Values given on the command line in place of the source's.
struct restore_overrides {
	std::optional<uint64_t> transaction_id;
	std::optional<uint32_t> data_block_size;
	std::optional<uint64_t> nr_data_blocks;
	// The source guarantees what the builder otherwise checks mapping by
	// mapping: every data block mapped more than once is seen as shared by
	// each device mapping it (thin_repair settles snap_times to make it so).
	// Data blocks are then counted in batches, without the check.
	bool sharing_settled = false;
};

class restore_builder final : public restore_events {
public:
	// Builds into `out`, using its first `nr_metadata_blocks` blocks.
	restore_builder(io::block_device& out, uint64_t nr_metadata_blocks, const restore_overrides& overrides,
	                restore_warnings& warnings);
	~restore_builder() override;

	void begin_superblock(const superblock_event& sb) override;
	void end_superblock() override;
	void begin_def(std::string_view name) override;
	void end_def() override;
	void begin_device(const device_event& dev) override;
	void end_device() override;
	void mapping(const mapping_event& m) override;
	void ref(std::string_view name) override;

	// True once the superblock has been written.
	bool complete() const;
	// Metadata blocks used (valid once complete).
	uint64_t nr_blocks_used() const;

private:
	struct state;
	std::unique_ptr<state> s_;
};

}
