// Pool modes: running out of data space (queued or failed I/O), out of
// metadata space, the read_only feature, a metadata failure, crashes and
// growth of the devices.
#include <catch2/catch.hpp>

#include <fstream>

#include "pool_fixture.h"

using namespace thinmeta;
using namespace thinmeta::test;
using sim::pool_mode;

namespace {
constexpr uint64_t bb = pool_fixture::block_bytes;

std::vector<uint8_t> file_bytes(const std::string& path)
{
	std::ifstream in(path, std::ios::binary);
	return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
}

TEST_CASE("with error_if_no_space a full pool fails writes that need a block at once")
{
	sim::pool_config c;
	c.features.error_if_no_space = true;
	pool_fixture f(c, 16 << 20, 4 * bb);
	f.create(0);
	f.write(0, 0, 4 * bb, 1);
	CHECK(errno_of([&] { f.write(0, 4 * bb, 512, 2); }) == ENOSPC);
	CHECK(f.pool->mode() == pool_mode::out_of_data_space);
	CHECK(f.status() == "0 419/4096 4/4 - out_of_data_space discard_passdown error_if_no_space - 1024");
	// Writes to blocks the device holds still go through.
	f.write(0, 0, 512, 3);
	CHECK(f.read(0, 0, 512) == bytes_of(512, 3));
	// A discard and the commit that follows give space back.
	f.pool->discard(0, 3 * bb, bb);
	f.pool->flush(0);
	CHECK(f.pool->mode() == pool_mode::write);
	f.write(0, 4 * bb, 512, 2);
	CHECK(f.status() == "0 419/4096 4/4 - rw discard_passdown error_if_no_space - 1024");
}

TEST_CASE("with queue_if_no_space writes wait out the no-space timeout, then fail and errors stay immediate")
{
	pool_fixture f({}, 16 << 20, 2 * bb);
	f.create(0);
	f.write(0, 0, 2 * bb, 1);
	CHECK(errno_of([&] { f.write(0, 2 * bb, bb, 2); }) == ENOSPC);
	// The timeout turned error_if_no_space on, as the kernel's does.
	CHECK(f.status() == "0 419/4096 2/2 - out_of_data_space discard_passdown error_if_no_space - 1024");
	CHECK(errno_of([&] { f.write(0, 3 * bb, 512, 2); }) == ENOSPC);
	f.pool->discard(0, 0, bb);
	f.pool->flush(0);
	CHECK(f.status() == "0 419/4096 1/2 - rw discard_passdown queue_if_no_space - 1024");
}

TEST_CASE("a write that frees a block while it waits for space goes through after the periodic commit")
{
	// Block 0 is shared with a snapshot; the snapshot is deleted, so the
	// first write breaks sharing of a block nobody else holds: inserting
	// its copy frees the old block, and the worker's commit during the
	// wait makes it free for the second half of the write.
	pool_fixture f({}, 16 << 20, 3 * bb);
	f.create(0);
	f.write(0, 0, bb, 1);
	f.pool->message("create_snap 1 0");
	f.pool->message("delete 1");
	f.write(0, bb, bb, 2);
	// Two blocks used, one free: [0, 2 bb) needs a copy of block 0 (the
	// free block) and then one more.
	f.write(0, 0, bb, 3);
	CHECK(f.read(0, 0, bb) == bytes_of(bb, 3));
	CHECK(f.status() == "0 419/4096 2/3 - rw discard_passdown queue_if_no_space - 1024");
}

TEST_CASE("running out of metadata space turns the pool read-only until the metadata device grows")
{
	pool_fixture f({}, 128 * 4096, 64 << 20);
	f.create(0);
	// Snapshots and writes all over the volume until the metadata is full.
	for (uint64_t round = 0; f.pool->mode() == pool_mode::write && round < 400; ++round) {
		f.pool->message("create_snap " + std::to_string(round + 1) + " 0");
		for (uint64_t b = 0; b < 20 && f.pool->mode() == pool_mode::write; ++b)
			errno_of([&] { f.write(0, ((round * 37 + b * 101) % 900) * bb, 512, 1); });
	}
	REQUIRE(f.pool->mode() == pool_mode::out_of_metadata_space);
	sim::pool_status s = f.pool->status();
	CHECK(s.metadata_used == s.metadata_total);
	CHECK(sim::status_word(s.mode) == std::string("ro"));
	CHECK(errno_of([&] { f.pool->message("create_thin 999"); }) == EOPNOTSUPP);
	CHECK(errno_of([&] { f.write(0, 950 * bb, 512, 1); }) == EIO);
	CHECK(errno_of([&] { f.pool->discard(0, 0, 10 * bb); }) == 0);
	CHECK(f.read(0, 950 * bb, 512) == bytes_of(512, 0));

	std::filesystem::resize_file(f.dir.file("meta.img"), 256 * 4096);
	f.pool->resize();
	CHECK(f.pool->mode() == pool_mode::write);
	CHECK(f.pool->status().metadata_total == 256);
	f.write(0, 950 * bb, 512, 1);
	CHECK(f.read(0, 950 * bb, 512) == bytes_of(512, 1));
}

TEST_CASE("read_only never changes the metadata")
{
	sim::pool_config ro;
	ro.features.read_only = true;
	{
		// Blank metadata cannot be formatted read-only.
		pool_fixture blank;
		blank.pool->close();
		blank.pool.reset();
		std::filesystem::resize_file(blank.dir.file("meta.img"), 0);
		std::filesystem::resize_file(blank.dir.file("meta.img"), 16 << 20);
		blank.config = ro;
		CHECK(errno_of([&] { blank.open(); }) == EPERM);
	}
	pool_fixture f;
	f.create(0);
	f.write(0, 0, bb, 1);
	f.pool->deactivate(0);
	f.reopen(ro);
	std::vector<uint8_t> before = file_bytes(f.dir.file("meta.img"));
	f.pool->activate(0, nullptr);
	CHECK(f.status() == "0 419/4096 1/1024 - ro discard_passdown queue_if_no_space - 1024");
	CHECK(errno_of([&] { f.pool->message("create_thin 1"); }) == EOPNOTSUPP);
	f.write(0, 0, 512, 2);
	CHECK(errno_of([&] { f.write(0, bb, 512, 2); }) == EIO);
	CHECK(errno_of([&] { f.pool->discard(0, 0, bb); }) == 0);
	CHECK(f.read(0, 0, 1024) == [] {
		auto v = bytes_of(1024, 1);
		std::fill(v.begin(), v.begin() + 512, 2);
		return v;
	}());
	f.pool->flush(0);
	f.pool->close();
	CHECK(file_bytes(f.dir.file("meta.img")) == before);
}

TEST_CASE("a crash loses what was not committed; data written stays on the data device")
{
	pool_fixture f;
	f.create(0);
	f.write(0, 0, bb, 1);
	f.pool->flush(0);
	f.write(0, bb, bb, 2);
	f.pool->message("create_thin 1");  // commits the second write too
	f.pool->activate(1, nullptr);
	f.write(0, 2 * bb, bb, 3);
	f.write(1, 0, bb, 4);
	f.pool->crash();
	CHECK(f.pool->active_devices() == std::vector<uint64_t>{0, 1});
	CHECK(f.read(0, 0, 2 * bb) == [] {
		auto v = bytes_of(2 * bb, 1);
		std::fill(v.begin() + bb, v.end(), 2);
		return v;
	}());
	CHECK(f.read(0, 2 * bb, bb) == bytes_of(bb, 0));
	CHECK(f.read(1, 0, bb) == bytes_of(bb, 0));
	CHECK(f.data_block(2) == bytes_of(bb, 3));
	CHECK(f.data_block(3) == bytes_of(bb, 4));
	// The pool came back from disk: allocation starts from block 0 again
	// and takes the first block free at the last commit.
	f.write(1, 0, bb, 5);
	CHECK(f.data_block(2) == bytes_of(bb, 5));
}

TEST_CASE("a grown data device is taken in when the pool is resumed")
{
	pool_fixture f({}, 16 << 20, 16 * bb);
	CHECK(f.pool->status().data_total == 16);
	std::filesystem::resize_file(f.dir.file("data.img"), 20000 * bb);
	f.pool->resize();
	CHECK(f.pool->status().data_total == 20000);
	// Smaller than the space map: the pool refuses the device.
	f.pool->close();
	f.pool.reset();
	std::filesystem::resize_file(f.dir.file("data.img"), 10 * bb);
	CHECK(errno_of([&] { f.open(); }) == EINVAL);
}

TEST_CASE("when metadata runs out inside an operation the transaction is aborted and needs_check set")
{
	// Each time the full pool is opened again it starts in write mode and
	// one more write eats into the metadata reserve before the pool sees it
	// is out of space; in the end an operation finds no block at all.
	pool_fixture f({}, 128 * 4096, 64 << 20);
	f.create(0);
	uint64_t next = 1;
	for (int reopen = 0; reopen < 200 && f.pool->mode() != pool_mode::read_only; ++reopen) {
		for (int i = 0; i < 50 && f.pool->mode() == pool_mode::write; ++i) {
			errno_of([&] { f.pool->message("create_snap " + std::to_string(next++) + " 0"); });
			errno_of([&] { f.write(0, ((next * 53) % 900) * bb, 512, 1); });
		}
		if (f.pool->mode() == pool_mode::read_only)
			break;
		f.pool->deactivate(0);
		f.reopen({});
		f.pool->activate(0, nullptr);
	}
	REQUIRE(f.pool->mode() == pool_mode::read_only);
	sim::pool_status s = f.pool->status();
	CHECK(s.needs_check);
	CHECK(sim::status_line(s).find(" ro discard_passdown queue_if_no_space needs_check ") != std::string::npos);
	// The flag is on disk: the pool comes back read-only.
	f.pool->deactivate(0);
	f.reopen({});
	CHECK(f.pool->mode() == pool_mode::read_only);
	CHECK(f.pool->status().needs_check);
}
