// A metadata image file of a given size for tests that build metadata on a
// real block_device, removed when the test ends.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <unistd.h>

#include "io/block_device.h"

namespace thinmeta::test {

struct scratch_image {
	explicit scratch_image(uint64_t nr_blocks)
	{
		std::string pattern = (std::filesystem::temp_directory_path() / "thinmeta-image-XXXXXX").string();
		int fd = ::mkstemp(pattern.data());
		REQUIRE(fd >= 0);
		::close(fd);
		path = pattern;
		dev.emplace(io::block_device::create_file(path, nr_blocks));
	}
	~scratch_image()
	{
		dev.reset();
		std::filesystem::remove(path);
	}
	scratch_image(const scratch_image&) = delete;
	scratch_image& operator=(const scratch_image&) = delete;

	std::string path;
	std::optional<io::block_device> dev;
};

}
