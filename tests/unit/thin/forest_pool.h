// A small pool for mapping_forest's tests, written through pool_metadata:
// a device of several leaves, a snapshot of it with a few leaves copied by
// writes, a device whose tree is one leaf, and an empty one. Kept apart from
// the test because pool_metadata.h and metadata_reader.h both name a
// thin_device.
#pragma once

#include <cstdint>
#include <map>

#include "io/block_device.h"

namespace thinmeta::test {

// Device id -> its mappings (virtual block -> data block).
using forest_pool = std::map<uint64_t, std::map<uint64_t, uint64_t>>;

forest_pool write_forest_pool(io::block_device& dev);

}
