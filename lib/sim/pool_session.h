// The devices and the pool of one simulator run, set up from paths the way
// a pool and its thin devices are set up from table lines: the metadata and
// data images, the external origin of each device that has one, the pool.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/data_device.h"
#include "sim/metadata_store.h"
#include "sim/pool_config.h"
#include "sim/thin_pool.h"

namespace thinmeta::sim {

struct origin_option {
	uint64_t dev = 0;
	std::string path;
};

inline constexpr uint32_t default_block_size = 128;

struct pool_setup {
	std::string metadata_path;
	std::string data_path;
	// A block size of 0 takes the one the metadata was formatted with (or,
	// for blank metadata, default_block_size).
	pool_config config;
	std::vector<origin_option> origins;  // --origin DEV:FILE, in the order given
	data_io data_mode = data_io::full;
};

class pool_session {
public:
	explicit pool_session(const pool_setup& setup);
	pool_session(const pool_session&) = delete;
	pool_session& operator=(const pool_session&) = delete;

	thin_pool& pool() { return *pool_; }
	// The external origin given for `dev`, or null.
	const external_origin* origin_for(uint64_t dev) const;

private:
	metadata_store metadata_;
	data_device data_;
	std::vector<std::pair<uint64_t, std::unique_ptr<external_origin>>> origins_;
	std::unique_ptr<thin_pool> pool_;
};

}
