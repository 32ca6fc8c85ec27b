// thin_trim as a library operation: discards every data block the pool's
// metadata does not use, so thinly provisioned or SSD storage under an
// inactive pool gets the space back. Block devices get BLKDISCARD; image
// files get holes punched. It refuses metadata that does not check clean:
// a block the metadata wrongly counts as free may hold data.
#pragma once

#include <cstdint>
#include <string>

#include "base/progress.h"

namespace thinmeta::ops {

struct trim_options {
	std::string metadata;
	std::string data;
};

struct trim_result {
	uint64_t data_blocks = 0;      // in the pool
	uint64_t blocks_discarded = 0;  // free blocks discarded
	uint64_t ranges = 0;           // discard requests made
	uint64_t bytes_discarded = 0;
};

trim_result trim(const trim_options& options, progress_sink& progress);

}
