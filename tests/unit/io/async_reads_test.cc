// async_reads: every read of a batch lands where it should, short reads and
// errors stay with their read, and two threads reading at once each get
// their own results.
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "io/async_reads.h"
#include "support/temp_file.h"

using namespace thinmeta;

namespace {

// A file whose byte at offset i is i % 251, opened for reading.
struct patterned_file {
	explicit patterned_file(size_t size)
	{
		std::vector<uint8_t> bytes(size);
		for (size_t i = 0; i < size; ++i)
			bytes[i] = static_cast<uint8_t>(i % 251);
		fd = ::open(dir.write("data", bytes).c_str(), O_RDONLY | O_CLOEXEC);
		REQUIRE(fd >= 0);
	}
	~patterned_file() { ::close(fd); }

	test::temp_dir dir;
	int fd = -1;
};

bool holds_pattern(const std::vector<uint8_t>& buf, uint64_t offset, size_t len)
{
	for (size_t i = 0; i < len; ++i)
		if (buf[i] != static_cast<uint8_t>((offset + i) % 251))
			return false;
	return true;
}

}

TEST_CASE("async_reads fills every read's buffers, more reads than its depth", "[async_reads]")
{
	patterned_file file(1 << 20);
	io::async_reads reads(4);

	// 40 reads of 3000 bytes, each into two buffers of 1000 and 2000.
	constexpr size_t n = 40;
	std::vector<std::vector<uint8_t>> first(n, std::vector<uint8_t>(1000)), second(n, std::vector<uint8_t>(2000));
	std::vector<iovec> iov(2 * n);
	std::vector<io::vector_read> batch(n);
	for (size_t r = 0; r < n; ++r) {
		iov[2 * r] = {first[r].data(), first[r].size()};
		iov[2 * r + 1] = {second[r].data(), second[r].size()};
		batch[r].offset = (n - r) * 17'000 + r;
		batch[r].iov = std::span(iov).subspan(2 * r, 2);
	}
	reads.run(file.fd, batch);
	for (size_t r = 0; r < n; ++r) {
		INFO("read " << r);
		REQUIRE(batch[r].result == 3000);
		CHECK(holds_pattern(first[r], batch[r].offset, 1000));
		CHECK(holds_pattern(second[r], batch[r].offset + 1000, 2000));
	}
}

TEST_CASE("async_reads reports a short read at the end and an error in its read alone", "[async_reads]")
{
	patterned_file file(10'000);
	io::async_reads reads(8);
	std::vector<uint8_t> a(4096), b(4096), c(4096);
	std::vector<iovec> iov{{a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
	std::vector<io::vector_read> batch{{0, std::span(iov).subspan(0, 1), 0},
	                                   {8192, std::span(iov).subspan(1, 1), 0},
	                                   {20'000, std::span(iov).subspan(2, 1), 0}};
	reads.run(file.fd, batch);
	CHECK(batch[0].result == 4096);
	CHECK(holds_pattern(a, 0, 4096));
	CHECK(batch[1].result == 10'000 - 8192);
	CHECK(holds_pattern(b, 8192, 10'000 - 8192));
	CHECK(batch[2].result == 0);

	// A descriptor not open for reading: refused at submission.
	int wfd = ::open(file.dir.file("data").c_str(), O_WRONLY | O_CLOEXEC);
	REQUIRE(wfd >= 0);
	std::vector<io::vector_read> bad{{0, std::span(iov).subspan(0, 1), 0}};
	CHECK_THROWS_WITH(reads.run(wfd, bad), Catch::Contains("cannot submit reads: Bad file descriptor"));
	::close(wfd);

	// A misaligned read with O_DIRECT fails alone, in its result.
	int direct = ::open(file.dir.file("data").c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (direct < 0) {
		WARN("the temporary directory's file system has no O_DIRECT: misaligned read not tried");
		return;
	}
	alignas(4096) static uint8_t aligned[4096];
	std::vector<iovec> direct_iov{{aligned, 4096}, {aligned, 4096}};
	std::vector<io::vector_read> mixed{{0, std::span(direct_iov).subspan(0, 1), 0},
	                                   {1, std::span(direct_iov).subspan(1, 1), 0}};
	reads.run(direct, mixed);
	::close(direct);
	CHECK(mixed[0].result == 4096);
	CHECK(mixed[1].result == -EINVAL);
}

TEST_CASE("async_reads serves two callers at once, each with its own reads", "[async_reads]")
{
	patterned_file file(1 << 20);
	io::async_reads reads(4, 2);

	// Each thread reads 64 blocks of 4 KiB from its own half of the file,
	// many times over, so their runs overlap.
	auto read_half = [&](uint64_t base, bool& sound) {
		std::vector<std::vector<uint8_t>> bufs(64, std::vector<uint8_t>(4096));
		std::vector<iovec> iov(64);
		std::vector<io::vector_read> batch(64);
		for (int round = 0; round < 50; ++round) {
			for (size_t r = 0; r < 64; ++r) {
				iov[r] = {bufs[r].data(), 4096};
				batch[r] = {base + r * 4096 + static_cast<uint64_t>(round), std::span(iov).subspan(r, 1), 0};
			}
			reads.run(file.fd, batch);
			for (size_t r = 0; r < 64; ++r)
				sound = sound && batch[r].result == 4096 && holds_pattern(bufs[r], batch[r].offset, 4096);
		}
	};
	bool first_sound = true, second_sound = true;
	std::thread other([&] { read_half(512 * 1024, second_sound); });
	read_half(0, first_sound);
	other.join();
	CHECK(first_sound);
	CHECK(second_sound);
}
