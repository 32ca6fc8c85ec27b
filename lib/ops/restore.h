// thin_restore's operation: metadata on a device or file, built from a
// thin_dump XML file. The output must exist (a block device, or a file large
// enough), must not be the input, and is opened exclusively. On any error the
// output's superblock is left zeroed, so nothing that looks like valid
// metadata remains.
#pragma once

#include <functional>
#include <string>

#include "base/progress.h"
#include "ops/restore_builder.h"
#include "ops/restore_events.h"

namespace thinmeta::ops {

struct restore_options {
	std::string input;
	std::string output;
	restore_overrides overrides;
};

// Throws thinmeta::error saying what went wrong and where; warnings (values
// recomputed or ignored) go to `warnings` with their place in the input.
void restore(const restore_options& options, progress_sink& progress, restore_warnings& warnings);

// Throws, saying what is wrong, unless `output` can take metadata restored
// from `input`: it exists, is not `input`, and is not a device in use.
void check_output_target(const std::string& input, const std::string& output);

// The frame of any restore: checks the output (it exists, is not `input`,
// is not in use), zeroes its superblock, runs `produce` against a builder
// on it, and zeroes the superblock again if anything fails, so an output is
// either complete metadata or plainly not metadata.
void build_metadata(const std::string& input, const std::string& output, const restore_overrides& overrides,
                    restore_warnings& warnings, const std::function<void(restore_events&)>& produce);

}
