// Pool messages: the kernel's syntax, checks and errno values; a message
// that succeeds is committed, one that is refused is not.
#include <catch2/catch.hpp>

#include "pool_fixture.h"

using namespace thinmeta;
using namespace thinmeta::test;

TEST_CASE("messages are answered with the kernel's errno values")
{
	pool_fixture f;
	auto message = [&](const std::string& text) { return errno_of([&] { f.pool->message(text); }); };
	CHECK(message("create_thin 0") == 0);
	CHECK(message("create_thin 0") == EEXIST);
	CHECK(message("create_snap 0 7") == EEXIST);
	CHECK(message("create_snap 1 7") == ENODATA);
	CHECK(message("delete 7") == ENODATA);
	CHECK(message("create_thin 16777216") == EINVAL);
	CHECK(message("create_thin 16777215") == 0);
	CHECK(message("create_thin -1") == EINVAL);
	CHECK(message("create_thin 0x5") == EINVAL);
	CHECK(message("create_thin") == EINVAL);
	CHECK(message("create_thin 1 2") == EINVAL);
	CHECK(message("no_such_message 1") == EINVAL);
	CHECK(message("CREATE_THIN +3") == 0);
	CHECK(message("Create_Snap 4 3") == 0);
	CHECK(message("set_transaction_id 0 5") == 0);
	CHECK(message("set_transaction_id 0 6") == EINVAL);
	CHECK(message("set_transaction_id 5 x") == EINVAL);
	CHECK(message("release_metadata_snap") == EINVAL);
	CHECK(message("reserve_metadata_snap extra") == EINVAL);
	CHECK(message("reserve_metadata_snap") == 0);
	CHECK(message("reserve_metadata_snap") == EBUSY);
	CHECK(message("delete 3") == 0);
	CHECK(message("release_metadata_snap") == 0);
	CHECK(message("release_metadata_snap") == EINVAL);
	CHECK(f.pool->devices_in_metadata() == std::vector<uint64_t>{0, 4, 16777215});
	CHECK(f.pool->status().transaction_id == 5);
}

TEST_CASE("an active device cannot be deleted")
{
	pool_fixture f;
	f.create(0);
	CHECK(errno_of([&] { f.pool->message("delete 0"); }) == EBUSY);
	f.pool->deactivate(0);
	CHECK(errno_of([&] { f.pool->message("delete 0"); }) == 0);
}

TEST_CASE("a message that succeeds commits; one that is refused does not")
{
	pool_fixture f;
	uint64_t commits = f.pool->stats().commits;
	f.pool->message("create_thin 0");
	CHECK(f.pool->stats().commits == commits + 1);
	CHECK(errno_of([&] { f.pool->message("create_thin 0"); }) == EEXIST);
	CHECK(f.pool->stats().commits == commits + 1);
	// reserve_metadata_snap commits before taking the snapshot, and after.
	f.pool->message("reserve_metadata_snap");
	CHECK(f.pool->stats().commits == commits + 3);
}

TEST_CASE("a flush commits only when the device changed in this transaction")
{
	pool_fixture f;
	f.create(0);
	f.create(1);
	uint64_t commits = f.pool->stats().commits;
	f.pool->flush(0);
	CHECK(f.pool->stats().commits == commits);
	f.write(0, 0, 512, 1);
	f.pool->flush(1);
	CHECK(f.pool->stats().commits == commits);
	f.pool->flush(0);
	CHECK(f.pool->stats().commits == commits + 1);
	// An overwrite in place changes no metadata.
	f.write(0, 0, 512, 2);
	f.pool->flush(0);
	CHECK(f.pool->stats().commits == commits + 1);
}

TEST_CASE("a snapshot and a metadata snapshot show in the status line")
{
	pool_fixture f;
	f.create(0);
	f.write(0, 0, 65536, 1);
	f.pool->flush(0);
	f.pool->message("reserve_metadata_snap");
	f.pool->message("set_transaction_id 0 1");
	// Block numbers as the 6.1 kernel chose them for the same operations.
	CHECK(f.status() == "1 420/4096 1/1024 25 rw discard_passdown queue_if_no_space - 1024");
}
