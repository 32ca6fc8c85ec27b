// The write and read paths: provisioning with and without zeroing,
// external origins, breaking sharing, I/O at the end of a device.
#include <catch2/catch.hpp>

#include "pool_fixture.h"

using namespace thinmeta;
using namespace thinmeta::test;
using sim::pool_mode;

namespace {
constexpr uint64_t bb = pool_fixture::block_bytes;

std::vector<uint8_t> concat(std::initializer_list<std::vector<uint8_t>> parts)
{
	std::vector<uint8_t> out;
	for (auto& p : parts)
		out.insert(out.end(), p.begin(), p.end());
	return out;
}
}

TEST_CASE("a fresh pool is formatted and its status is the kernel's")
{
	// 6.1 shows 419/4096 after the first create_thin on 16 MiB of metadata.
	pool_fixture f;
	CHECK(f.status() == "0 418/4096 0/1024 - rw discard_passdown queue_if_no_space - 1024");
	f.create(0);
	CHECK(f.status() == "0 419/4096 0/1024 - rw discard_passdown queue_if_no_space - 1024");
}

TEST_CASE("a partial write to a new block zeroes the rest of it")
{
	pool_fixture f;
	// Stale bytes where the first data block will be.
	std::vector<uint8_t> stale(bb, 0xee);
	f.data->write(0, stale.data(), bb);
	f.create(0);
	f.write(0, bb + 4096, 1024, 7);
	CHECK(f.read(0, bb, bb) == concat({bytes_of(4096, 0), bytes_of(1024, 7), bytes_of(bb - 5120, 0)}));
	CHECK(f.data_block(0) == f.read(0, bb, bb));
	CHECK(f.pool->stats().provisioned == 1);
	// Unmapped blocks read as zeroes.
	CHECK(f.read(0, 0, bb) == bytes_of(bb, 0));
}

TEST_CASE("with skip_block_zeroing a new block keeps what the data device held")
{
	sim::pool_config c;
	c.features.zero_new_blocks = false;
	pool_fixture f(c);
	std::vector<uint8_t> stale(bb, 0xee);
	f.data->write(0, stale.data(), bb);
	f.create(0);
	f.write(0, 512, 512, 7);
	CHECK(f.read(0, 0, bb) == concat({bytes_of(512, 0xee), bytes_of(512, 7), bytes_of(bb - 1024, 0xee)}));
}

TEST_CASE("a write to a block the device holds alone overwrites it in place")
{
	pool_fixture f;
	f.create(0);
	f.write(0, 0, bb, 1);
	f.pool->flush(0);
	f.write(0, 512, 512, 2);
	CHECK(f.data_block(0) == concat({bytes_of(512, 1), bytes_of(512, 2), bytes_of(bb - 1024, 1)}));
	CHECK(f.data_block(1) == bytes_of(bb, 0));
	CHECK(f.pool->stats().provisioned == 1);
}

TEST_CASE("a write to a block shared with a snapshot copies it to a new block")
{
	pool_fixture f;
	f.create(0);
	f.write(0, 0, bb, 1);
	f.pool->message("create_snap 1 0");
	f.pool->activate(1, nullptr);
	f.write(0, 512, 512, 2);
	CHECK(f.read(0, 0, bb) == concat({bytes_of(512, 1), bytes_of(512, 2), bytes_of(bb - 1024, 1)}));
	CHECK(f.read(1, 0, bb) == bytes_of(bb, 1));
	CHECK(f.data_block(0) == bytes_of(bb, 1));
	CHECK(f.data_block(1) == f.read(0, 0, bb));
	CHECK(f.pool->stats().sharing_broken == 1);
	// The copy is the device's own now: the next write goes in place.
	f.write(0, 0, 512, 3);
	CHECK(f.data_block(1)[0] == 3);
	CHECK(f.pool->stats().sharing_broken == 1);
}

TEST_CASE("an external origin gives unmapped blocks their contents and is copied on a partial write")
{
	pool_fixture f;
	// An origin of one block and 5 sectors: the second block crosses its end.
	std::vector<uint8_t> origin_bytes(bb + 5 * 512);
	for (size_t i = 0; i < origin_bytes.size(); ++i)
		origin_bytes[i] = uint8_t(i / 512 + 1);
	sim::external_origin origin(f.dir.write("origin.img", origin_bytes));
	f.pool->message("create_thin 0");
	f.pool->activate(0, &origin);

	std::vector<uint8_t> second(origin_bytes.begin() + bb, origin_bytes.end());
	second.resize(bb, 0);
	CHECK(f.read(0, 0, bb) == std::vector<uint8_t>(origin_bytes.begin(), origin_bytes.begin() + bb));
	CHECK(f.read(0, bb, bb) == second);
	CHECK(f.read(0, 2 * bb, bb) == bytes_of(bb, 0));

	f.write(0, bb + 1024, 512, 0xaa);
	std::vector<uint8_t> expected = second;
	std::fill(expected.begin() + 1024, expected.begin() + 1536, 0xaa);
	CHECK(f.read(0, bb, bb) == expected);
	CHECK(f.data_block(0) == expected);
}

TEST_CASE("I/O past the end of a thin device")
{
	sim::pool_config c;
	c.thin_sectors = 4 * 128;  // four blocks
	pool_fixture f(c);
	f.create(0);
	CHECK(errno_of([&] { f.write(0, 4 * bb, 512, 1); }) == ENOSPC);
	CHECK(errno_of([&] { f.write(0, 4 * bb - 512, 1024, 1); }) == ENOSPC);
	CHECK(f.read(0, 4 * bb - 1024, 4096) == concat({bytes_of(512, 0), bytes_of(512, 1)}));
	CHECK(f.read(0, 4 * bb, 512).empty());
	CHECK(errno_of([&] { f.pool->discard(0, 3 * bb, 2 * bb); }) == EINVAL);
}

TEST_CASE("I/O to a device that is not active fails with ENODEV")
{
	pool_fixture f;
	f.pool->message("create_thin 0");
	CHECK(errno_of([&] { f.write(0, 0, 512, 1); }) == ENODEV);
	CHECK(errno_of([&] { f.read(0, 0, 512); }) == ENODEV);
	CHECK(errno_of([&] { f.pool->discard(0, 0, bb); }) == ENODEV);
	CHECK(errno_of([&] { f.pool->flush(0); }) == ENODEV);
}
