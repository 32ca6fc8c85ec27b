// Discards: unmapping, passdown to the data device, and when the freed
// blocks can be allocated again.
#include <catch2/catch.hpp>

#include "pool_fixture.h"

using namespace thinmeta;
using namespace thinmeta::test;

namespace {
constexpr uint64_t bb = pool_fixture::block_bytes;
}

TEST_CASE("a discard unmaps the blocks it covers whole and passes them down")
{
	pool_fixture f;
	f.create(0);
	f.write(0, 0, 4 * bb, 9);
	f.pool->flush(0);
	// Blocks 1 and 2 are covered whole; 0 and 3 only in part.
	f.pool->discard(0, 512, 3 * bb);
	CHECK(f.pool->stats().unmapped == 2);
	CHECK(f.read(0, 0, 4 * bb) ==
	      [] {
		      auto v = bytes_of(4 * bb, 9);
		      std::fill(v.begin() + bb, v.begin() + 3 * bb, 0);
		      return v;
	      }());
	CHECK(f.data_block(1) == bytes_of(bb, 0));
	CHECK(f.data_block(2) == bytes_of(bb, 0));
	CHECK(f.data_block(3) == bytes_of(bb, 9));
	CHECK(f.status() == "0 419/4096 2/1024 - rw discard_passdown queue_if_no_space - 1024");
}

TEST_CASE("blocks a snapshot still maps are not passed down")
{
	pool_fixture f;
	f.create(0);
	f.write(0, 0, 2 * bb, 9);
	f.pool->message("create_snap 1 0");
	f.pool->activate(1, nullptr);
	f.pool->discard(0, 0, 2 * bb);
	CHECK(f.data_block(0) == bytes_of(bb, 9));
	CHECK(f.read(1, 0, 2 * bb) == bytes_of(2 * bb, 9));
	CHECK(f.read(0, 0, 2 * bb) == bytes_of(2 * bb, 0));
}

TEST_CASE("without passdown the data stays on the data device")
{
	sim::pool_config c;
	c.features.discard_passdown = false;
	pool_fixture f(c);
	f.create(0);
	f.write(0, 0, bb, 9);
	f.pool->discard(0, 0, bb);
	CHECK(f.read(0, 0, bb) == bytes_of(bb, 0));
	CHECK(f.data_block(0) == bytes_of(bb, 9));
	CHECK(f.status() == "0 419/4096 0/1024 - rw no_discard_passdown queue_if_no_space - 1024");
}

TEST_CASE("with ignore_discard discards fail with EOPNOTSUPP")
{
	sim::pool_config c;
	c.features.discard_enabled = false;
	pool_fixture f(c);
	f.create(0);
	f.write(0, 0, bb, 9);
	CHECK(errno_of([&] { f.pool->discard(0, 0, bb); }) == EOPNOTSUPP);
	CHECK(f.read(0, 0, bb) == bytes_of(bb, 9));
	CHECK(f.status() == "0 419/4096 1/1024 - rw ignore_discard queue_if_no_space - 1024");
}

TEST_CASE("a freed block is allocated again only after a commit, next-fit from the last allocation")
{
	pool_fixture f;
	f.create(0);
	f.write(0, 0, bb, 1);       // data block 0
	f.pool->flush(0);
	f.pool->discard(0, 0, bb);  // frees 0, not committed
	f.write(0, bb, bb, 2);      // data block 1: 0 is free now but not at the last commit
	f.pool->flush(0);           // commits: 0 is free for good
	f.write(0, 2 * bb, bb, 3);  // the cursor goes on: data block 2
	CHECK(f.data_block(1) == bytes_of(bb, 2));
	CHECK(f.data_block(2) == bytes_of(bb, 3));
	CHECK(f.data_block(0) == bytes_of(bb, 0));
}
