// What thin_check is asked to do (its command-line options, parsed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "io/block.h"

namespace thinmeta::ops {

struct check_options {
	std::string path;
	// Check the metadata snapshot's superblock and trees instead of the live
	// ones (the space maps are not compared: the pool may be live).
	bool metadata_snap = false;
	bool super_block_only = false;
	bool skip_mappings = false;
	bool ignore_non_fatal_errors = false;
	bool clear_needs_check_flag = false;
	// Free blocks found leaked (the only fix that is safe in place), then
	// clear the needs_check flag if nothing else is wrong.
	bool auto_repair = false;
	std::optional<block_address> override_mapping_root;
	std::optional<block_address> override_details_root;
};

}
