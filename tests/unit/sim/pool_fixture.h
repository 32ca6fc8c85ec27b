// A simulated pool on image files in a temporary directory, with helpers
// to write patterns, read bytes back and look at the data image, for the
// thin_pool and script runner tests.
#pragma once

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/data_device.h"
#include "sim/metadata_store.h"
#include "sim/thin_pool.h"
#include "support/temp_file.h"
#include "thin/pool_error.h"

namespace thinmeta::test {

class vector_sink final : public sim::data_sink {
public:
	void take(const uint8_t* data, uint64_t length) override { bytes.insert(bytes.end(), data, data + length); }
	std::vector<uint8_t> bytes;
};

struct pool_fixture {
	static constexpr uint64_t block_bytes = 128 * 512;

	explicit pool_fixture(sim::pool_config c = {}, uint64_t metadata_bytes = 16 << 20, uint64_t data_bytes = 64 << 20)
	    : config(c)
	{
		std::filesystem::resize_file(touch("meta.img"), metadata_bytes);
		std::filesystem::resize_file(touch("data.img"), data_bytes);
		open();
	}

	std::string touch(const std::string& name)
	{
		std::string path = dir.file(name);
		std::ofstream(path, std::ios::app).close();
		return path;
	}

	void open()
	{
		metadata = std::make_unique<sim::metadata_store>(dir.file("meta.img"), !config.features.read_only);
		data = std::make_unique<sim::data_device>(dir.file("data.img"), sim::data_io::full);
		pool = std::make_unique<sim::thin_pool>(config, *metadata, *data);
	}

	// Closes the pool cleanly and opens it again with `c`.
	void reopen(sim::pool_config c)
	{
		pool->close();
		pool.reset();
		config = c;
		open();
	}

	void write(uint64_t dev, uint64_t offset, uint64_t length, uint8_t byte)
	{
		sim::fill_source fill(byte);
		pool->write(dev, offset, length, fill);
	}

	std::vector<uint8_t> read(uint64_t dev, uint64_t offset, uint64_t length)
	{
		vector_sink sink;
		pool->read(dev, offset, length, sink);
		return sink.bytes;
	}

	// The bytes of data block `b` in the data image.
	std::vector<uint8_t> data_block(uint64_t b)
	{
		std::vector<uint8_t> out(block_bytes);
		data->read(b * block_bytes, out.data(), block_bytes);
		return out;
	}

	std::string status() { return sim::status_line(pool->status()); }

	void create(uint64_t dev)
	{
		pool->message("create_thin " + std::to_string(dev));
		pool->activate(dev, nullptr);
	}

	temp_dir dir;
	sim::pool_config config;
	std::unique_ptr<sim::metadata_store> metadata;
	std::unique_ptr<sim::data_device> data;
	std::unique_ptr<sim::thin_pool> pool;
};

inline std::vector<uint8_t> bytes_of(uint64_t length, uint8_t value)
{
	return std::vector<uint8_t>(length, value);
}

// The errno a call fails with (0 when it succeeds).
inline int errno_of(const std::function<void()>& fn)
{
	try {
		fn();
	} catch (const thin::pool_error& e) {
		return e.errno_value();
	}
	return 0;
}

}
