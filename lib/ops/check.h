// thin_check as a library operation: validates a pool's metadata from the
// superblock down (every b-tree node, device details against the mapping
// trees, mappings inside the data device) and recounts every metadata and
// data block's references to compare them with both space maps.
#pragma once

#include "base/progress.h"
#include "ops/check_options.h"
#include "ops/check_report.h"

namespace thinmeta::ops {

// Runs the check, telling `listener` what it finds as it goes. Throws
// thinmeta::error only when the metadata cannot be read at all (missing file,
// in use, I/O error); damage is reported, not thrown.
check_verdict check_metadata(const check_options& options, check_listener& listener, progress_sink& progress);

}
