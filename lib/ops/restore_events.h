// What a restore is made of, in document order: one superblock holding
// shared leaf sets (defs) and thin devices; a device holds runs of mappings
// and references to defs. The XML reader produces these events from a dump;
// restore_builder turns them into metadata. Keeping the two apart lets other
// sources (thin_repair's scan of a damaged pool) build metadata the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace thinmeta::ops {

struct superblock_event {
	std::string uuid;
	uint32_t time = 0;
	uint64_t transaction = 0;
	uint32_t flags = 0;
	std::optional<uint32_t> version;
	uint32_t data_block_size = 0;  // sectors
	uint64_t nr_data_blocks = 0;
	std::optional<uint64_t> metadata_snap;
};

struct device_event {
	uint64_t dev_id = 0;
	std::optional<uint64_t> mapped_blocks;  // what the source claims; recounted
	uint64_t transaction = 0;
	uint32_t creation_time = 0;
	uint32_t snap_time = 0;
};

// `length` consecutive virtual blocks mapped to consecutive data blocks.
struct mapping_event {
	uint64_t origin_begin = 0;
	uint64_t data_begin = 0;
	uint64_t length = 1;
	uint32_t time = 0;
};

class restore_events {
public:
	virtual ~restore_events() = default;

	virtual void begin_superblock(const superblock_event& sb) = 0;
	virtual void end_superblock() = 0;
	// A named set of mappings that devices reuse as shared leaves.
	virtual void begin_def(std::string_view name) = 0;
	virtual void end_def() = 0;
	virtual void begin_device(const device_event& dev) = 0;
	virtual void end_device() = 0;
	virtual void mapping(const mapping_event& m) = 0;
	// Puts the leaves of an earlier def into the current device (or def).
	virtual void ref(std::string_view name) = 0;
};

// Input that describes metadata that cannot (or must not) be written. The
// source adds where it is (the XML reader: file, line and column).
class bad_input : public error {
public:
	using error::error;
};

// Where a restore reports what it corrected or ignored; the source adds
// where, the tool prints.
class restore_warnings {
public:
	virtual ~restore_warnings() = default;
	virtual void warning(const std::string& text) = 0;
};

}
