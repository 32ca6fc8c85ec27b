#include "sim/pool_config.h"

#include <cerrno>

#include "base/text.h"
#include "thin/pool_error.h"

namespace thinmeta::sim {

void check_pool_config(const pool_config& config)
{
	uint32_t bs = config.block_size;
	if (bs < min_block_size || bs > max_block_size || bs % min_block_size)
		throw thin::pool_error(EINVAL, cat("invalid data block size ", bs, " sectors: it must be a multiple of ",
		                                   min_block_size, " between ", min_block_size, " and ", max_block_size));
	if (config.thin_sectors == 0)
		throw thin::pool_error(EINVAL, "thin devices must have a size");
}

}
