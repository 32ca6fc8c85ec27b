#include "sim/pool_session.h"

#include <algorithm>

#include "base/text.h"
#include "io/aligned_buffer.h"
#include "thin/superblock.h"

namespace thinmeta::sim {

namespace {

// The data block size the metadata was formatted with, or 0 when blank.
uint32_t formatted_block_size(const metadata_store& metadata)
{
	if (metadata.nr_blocks() == 0)
		return 0;
	io::aligned_buffer block(1);
	metadata.read_range(thin::superblock_location, 1, block.data());
	const uint8_t* p = block.data();
	if (std::all_of(p, p + block_size, [](uint8_t c) { return c == 0; }))
		return 0;
	return thin::superblock::decode(p).data_block_size;
}

pool_config resolved(pool_config config, const metadata_store& metadata)
{
	if (config.block_size == 0) {
		config.block_size = formatted_block_size(metadata);
		if (config.block_size == 0)
			config.block_size = default_block_size;
	}
	return config;
}

}

pool_session::pool_session(const pool_setup& setup)
    : metadata_(setup.metadata_path, !setup.config.features.read_only),
      data_(setup.data_path, setup.data_mode)
{
	for (auto& o : setup.origins) {
		if (origin_for(o.dev))
			throw error(cat("thin device ", o.dev, " is given two external origins"));
		if (o.dev > max_thin_id)
			throw error(cat("--origin ", o.dev, ":", o.path, ": device ids go up to ", max_thin_id));
		origins_.emplace_back(o.dev, std::make_unique<external_origin>(o.path));
	}
	pool_ = std::make_unique<thin_pool>(resolved(setup.config, metadata_), metadata_, data_);
}

const external_origin* pool_session::origin_for(uint64_t dev) const
{
	for (auto& [id, origin] : origins_)
		if (id == dev)
			return origin.get();
	return nullptr;
}

}
