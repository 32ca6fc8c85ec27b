#include <catch2/catch.hpp>

#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "base/error.h"
#include "io/aligned_buffer.h"
#include "io/block_device.h"
#include "support/temp_file.h"

using namespace thinmeta;
using thinmeta::io::block_device;

namespace {
std::vector<uint8_t> numbered_blocks(size_t n, size_t extra_bytes = 0)
{
	std::vector<uint8_t> bytes(n * block_size + extra_bytes);
	for (size_t b = 0; b < n; ++b)
		std::memset(bytes.data() + b * block_size, int(b + 1), block_size);
	return bytes;
}
}

TEST_CASE("block_device reports missing files, directories and odd files clearly", "[block_device]")
{
	test::temp_dir dir;
	REQUIRE_THROWS_WITH(block_device::open(dir.file("nope"), io::access::read_only),
	                    Catch::Contains("nope: No such file or directory"));
	REQUIRE_THROWS_WITH(block_device::open(dir.file(""), io::access::read_only), Catch::Contains("is a directory"));
}

TEST_CASE("block_device counts whole blocks only", "[block_device]")
{
	test::temp_dir dir;
	auto path = dir.write("img", numbered_blocks(3, 100));
	auto dev = block_device::open(path, io::access::read_only);
	CHECK(dev.nr_blocks() == 3);
	CHECK(dev.size_bytes() == 3 * block_size + 100);
	CHECK_FALSE(dev.is_block_device());
}

TEST_CASE("read_blocks gathers scattered blocks into consecutive slots", "[block_device]")
{
	test::temp_dir dir;
	auto dev = block_device::open(dir.write("img", numbered_blocks(10)), io::access::read_only);
	std::vector<block_address> wanted{1, 2, 3, 7, 9};
	io::aligned_buffer buf(wanted.size());
	dev.read_blocks(wanted, buf.data());
	for (size_t i = 0; i < wanted.size(); ++i) {
		INFO("slot " << i);
		CHECK(buf.block(i)[0] == wanted[i] + 1);
		CHECK(buf.block(i)[block_size - 1] == wanted[i] + 1);
	}
}

TEST_CASE("read_blocks reads across short gaps into the right slots, one request or many at a time",
          "[block_device]")
{
	// Each block holds its number in its first and last 8 bytes.
	constexpr uint64_t nr = 6000;
	std::vector<uint8_t> bytes(nr * block_size);
	for (uint64_t b = 0; b < nr; ++b) {
		std::memcpy(bytes.data() + b * block_size, &b, 8);
		std::memcpy(bytes.data() + (b + 1) * block_size - 8, &b, 8);
	}
	test::temp_dir dir;
	auto dev = block_device::open(dir.write("img", bytes), io::access::read_only);
	unsigned in_flight = GENERATE(1u, 8u);
	INFO("requests in flight: " << in_flight);
	dev.set_read_policy({4, in_flight});

	std::vector<block_address> wanted;
	SECTION("gaps within and beyond the limit, repeats, going back")
	{
		wanted = {0, 1, 5, 6, 9, 14, 19, 19, 3, 4, 100, 105, 5999};
	}
	SECTION("more pieces than one request holds")
	{
		for (block_address b = 10; b < 5000; b += 2)
			wanted.push_back(b);
	}
	SECTION("a run longer than one request's bytes")
	{
		for (block_address b = 1; b < nr; ++b)
			if (b % 1000)
				wanted.push_back(b);
	}
	io::aligned_buffer buf(wanted.size());
	dev.read_blocks(wanted, buf.data());
	for (size_t i = 0; i < wanted.size(); ++i) {
		uint64_t first, last;
		std::memcpy(&first, buf.block(i), 8);
		std::memcpy(&last, buf.block(i) + block_size - 8, 8);
		INFO("slot " << i);
		REQUIRE(first == wanted[i]);
		REQUIRE(last == wanted[i]);
	}
}

TEST_CASE("read_blocks refuses a block past the end, even within a gap's reach", "[block_device]")
{
	test::temp_dir dir;
	auto dev = block_device::open(dir.write("img", numbered_blocks(4)), io::access::read_only);
	dev.set_read_policy({16, 8});
	std::vector<block_address> wanted{1, 2, 6};
	io::aligned_buffer buf(wanted.size());
	REQUIRE_THROWS_WITH(dev.read_blocks(wanted, buf.data()),
	                    Catch::Contains("block 6 is past the end of the metadata (4 blocks)"));
}

TEST_CASE("reading past the end names the block and the size", "[block_device]")
{
	test::temp_dir dir;
	auto dev = block_device::open(dir.write("img", numbered_blocks(4)), io::access::read_only);
	io::aligned_buffer buf(1);
	REQUIRE_THROWS_WITH(dev.read_block(4, buf.data()),
	                    Catch::Contains("block 4 is past the end of the metadata (4 blocks)"));
}

TEST_CASE("create_file makes a zeroed file that can be written and read back", "[block_device]")
{
	test::temp_dir dir;
	{
		auto dev = block_device::create_file(dir.file("new"), 8);
		CHECK(dev.nr_blocks() == 8);
		io::aligned_buffer buf(2);
		std::memset(buf.data(), 0x5A, 2 * block_size);
		dev.write_range(3, 2, buf.data());
		dev.flush();
	}
	auto dev = block_device::open(dir.file("new"), io::access::read_only);
	io::aligned_buffer buf(8);
	dev.read_range(0, 8, buf.data());
	CHECK(buf.block(2)[0] == 0);
	CHECK(buf.block(3)[0] == 0x5A);
	CHECK(buf.block(4)[block_size - 1] == 0x5A);
	CHECK(buf.block(5)[0] == 0);
}

TEST_CASE("a read-only device refuses writes", "[block_device]")
{
	test::temp_dir dir;
	auto dev = block_device::open(dir.write("img", numbered_blocks(2)), io::access::read_only);
	io::aligned_buffer buf(1, true);
	REQUIRE_THROWS_AS(dev.write_block(0, buf.data()), thinmeta::error);
}

namespace {
// Drops a file's pages from the page cache; false if some stay.
bool evict(const std::string& path)
{
	int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	::fdatasync(fd);
	::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	struct stat st;
	::fstat(fd, &st);
	void* map = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
	REQUIRE(map != MAP_FAILED);
	std::vector<unsigned char> in_core(static_cast<size_t>(st.st_size) / 4096);
	::mincore(map, static_cast<size_t>(st.st_size), in_core.data());
	::munmap(map, static_cast<size_t>(st.st_size));
	::close(fd);
	for (unsigned char c : in_core)
		if (c & 1)
			return false;
	return true;
}

bool opened_direct(const block_device& dev)
{
	return (::fcntl(dev.fd(), F_GETFL) & O_DIRECT) != 0;
}
}

TEST_CASE("block_device reads a file out of the page cache with O_DIRECT, a cached one through the cache",
          "[block_device]")
{
	test::temp_dir dir;
	constexpr size_t n = 2048;  // 8 MiB: large enough to sample
	auto path = dir.write("img", numbered_blocks(n));
	if (!evict(path)) {
		WARN("the file's pages could not be dropped from the page cache: O_DIRECT not tried");
		return;
	}
	int probe = ::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (probe < 0) {
		WARN("the temporary directory's file system has no O_DIRECT: not tried");
		return;
	}
	::close(probe);
	{
		auto cold = block_device::open(path, io::access::read_only);
		REQUIRE(opened_direct(cold));
		CHECK(cold.policy().reads_wait);
		CHECK(cold.policy().batches_in_flight == 2);
		std::vector<block_address> wanted{3, 5, 1000, 1001, 2047};
		io::aligned_buffer out(wanted.size());
		cold.read_blocks(wanted, out.data());
		for (size_t i = 0; i < wanted.size(); ++i)
			CHECK(out.block(i)[0] == static_cast<uint8_t>(wanted[i] + 1));
	}
	// Writable: never O_DIRECT (writes come from buffers of any alignment).
	CHECK_FALSE(opened_direct(block_device::open(path, io::access::read_write)));

	// Read once through the cache, the file is cached: no O_DIRECT.
	{
		auto plain = block_device::open(path, io::access::read_write);
		io::aligned_buffer all(n);
		plain.read_range(0, n, all.data());
	}
	auto warm = block_device::open(path, io::access::read_only);
	CHECK_FALSE(opened_direct(warm));
	CHECK_FALSE(warm.policy().reads_wait);
}
