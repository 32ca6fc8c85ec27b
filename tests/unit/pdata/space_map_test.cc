// The metadata and data space maps: the format-time layout, next-fit
// allocation from a cursor that survives commits, no reuse of a block freed
// since the last commit, overflow counts, and growth.
#include <catch2/catch.hpp>

#include "pdata/space_map_data.h"
#include "write_path_fixture.h"

using namespace thinmeta;
using namespace thinmeta::pdata;

using test::commit;

namespace {
void check_counts(test::write_path& wp, std::initializer_list<block_address> extra = {})
{
	test::check_metadata_counts(wp, {}, extra);
}
}

TEST_CASE("format lays out superblock, index, overflow root and bitmaps from block 0", "[space_map]")
{
	SECTION("one bitmap")
	{
		test::write_path wp(4096);
		sm_root r = wp.sm.root();
		CHECK(r.nr_blocks == 4096);
		CHECK(r.bitmap_root == 1);
		CHECK(r.ref_count_root == 2);
		CHECK(r.nr_allocated == 4);
		CHECK(wp.sm.core().index(0) == index_entry{3, entries_per_bitmap - 4, 4});
		check_counts(wp);
	}
	SECTION("three bitmaps")
	{
		test::write_path wp(40000);
		CHECK(wp.sm.core().index(0).blocknr == 3);
		CHECK(wp.sm.core().index(1).blocknr == 4);
		CHECK(wp.sm.core().index(2).blocknr == 5);
		CHECK(wp.sm.root().nr_allocated == 6);
		// The kernel's quirk: every new index entry says the whole bitmap is free.
		CHECK(wp.sm.core().index(2).nr_free == entries_per_bitmap);
		check_counts(wp);
	}
}

TEST_CASE("allocation is next-fit and never reuses a block freed in this transaction", "[space_map]")
{
	test::write_path wp(1024);
	data_space_map data(wp.tm);
	data.create(64);
	// A commit of the data map goes with one of the metadata it lives in.
	auto commit_both = [&]() {
		data.commit();
		commit(wp);
	};
	block_address a = data.new_block();
	block_address b = data.new_block();
	block_address c = data.new_block();
	CHECK(a == 0);
	CHECK(b == 1);
	CHECK(c == 2);
	data.dec(b);
	CHECK(data.get_count(b) == 0);
	// b is free now but was in use at the last commit.
	block_address d = data.new_block();
	CHECK(d == 3);

	commit_both();
	// The cursor survives the commit (kernel 6.1): b is free, next-fit goes on.
	block_address e = data.new_block();
	CHECK(e == 4);

	// Use up the rest: the search wraps round to b.
	for (block_address want = 5; want < 64; ++want)
		REQUIRE(data.new_block() == want);
	CHECK(data.new_block() == b);
	CHECK(data.nr_free() == 0);

	// A block in use at the last commit and freed since is not reusable
	// until the next commit; one allocated and freed since is.
	data.dec(c);
	CHECK(data.nr_free() == 1);
	CHECK_THROWS_AS(data.new_block(), no_space_error);
	data.dec(e);
	CHECK(data.new_block() == e);
	commit_both();
	CHECK(data.new_block() == c);
}

TEST_CASE("the metadata space map allocates next-fit, its own blocks included", "[space_map]")
{
	test::write_path wp(64);
	commit(wp);
	// The first allocation after a commit also copies the bitmap it changes.
	block_address a = wp.sm.new_block();
	block_address bitmap = wp.sm.core().index(0).blocknr;
	CHECK(a == 4);
	CHECK(bitmap == 5);
	CHECK(wp.sm.new_block() == 6);
	wp.sm.dec(a);
	CHECK(wp.sm.new_block() == 7);
	check_counts(wp, {6, 7});
	commit(wp);
	// Committing copied the index block (to 8) and freed the old copies of
	// both (1 and 3); the cursor goes on from 9.
	CHECK(wp.sm.root().bitmap_root == 8);
	CHECK(wp.sm.new_block() == 9);
	check_counts(wp, {6, 7, 9});
}

TEST_CASE("counts of three or more live in the overflow tree", "[space_map]")
{
	test::write_path wp(1024);
	block_address b = wp.sm.new_block();
	for (int i = 0; i < 5; ++i)
		wp.sm.inc(b);
	CHECK(wp.sm.get_count(b) == 6);
	CHECK(wp.sm.core().lookup_bitmap(b) == overflow_marker);
	CHECK(wp.sm.count_is_more_than_one(b));
	commit(wp);
	for (int i = 0; i < 3; ++i)
		wp.sm.dec(b);
	CHECK(wp.sm.get_count(b) == 3);
	CHECK(wp.sm.core().lookup_bitmap(b) == overflow_marker);
	wp.sm.dec(b);
	CHECK(wp.sm.get_count(b) == 2);
	CHECK(wp.sm.core().lookup_bitmap(b) == 2);
	// The overflow tree is empty again.
	{
		block_handle h = wp.tm.read(wp.sm.root().ref_count_root, block_kind::btree_node);
		CHECK(node_view(h.data()).nr_entries() == 0);
	}
	wp.sm.dec(b);
	wp.sm.dec(b);
	CHECK(wp.sm.get_count(b) == 0);
	CHECK_THROWS(wp.sm.dec(b));
	check_counts(wp);
}

TEST_CASE("set_count moves a count into and out of the overflow tree", "[space_map]")
{
	test::write_path wp(1024);
	block_address b = wp.sm.new_block();
	wp.sm.set_count(b, 7);
	CHECK(wp.sm.get_count(b) == 7);
	wp.sm.set_count(b, 1);
	CHECK(wp.sm.get_count(b) == 1);
	CHECK(wp.sm.core().lookup_bitmap(b) == 1);
	check_counts(wp, {b});
}

TEST_CASE("the metadata space map grows into the new area, counting its own new blocks", "[space_map]")
{
	test::write_path wp(20000);
	commit(wp);
	wp.store.resize(60000);
	wp.sm.extend(40000);
	CHECK(wp.sm.nr_blocks() == 60000);
	// Bitmaps 2 and 3 are new blocks taken from the old end of the device.
	CHECK(wp.sm.core().index(2).blocknr == 20000);
	CHECK(wp.sm.core().index(3).blocknr == 20001);
	check_counts(wp);
	commit(wp);
	check_counts(wp);
	CHECK_THROWS(wp.sm.extend(max_metadata_blocks));
}

TEST_CASE("the data space map allocates next-fit over its index tree and grows", "[space_map]")
{
	test::write_path wp(2048);
	data_space_map data(wp.tm);
	data.create(40000);
	CHECK(data.nr_blocks() == 40000);
	CHECK(data.nr_free() == 40000);
	CHECK(data.new_block() == 0);
	CHECK(data.new_block() == 1);
	data.dec(0);
	CHECK(data.new_block() == 2);
	CHECK(data.nr_free() == 40000 - 2);
	data.commit();
	commit(wp);
	CHECK(data.new_block() == 3);

	// Blocks in the third bitmap, counts into the overflow tree.
	data.inc_range(35000, 35010);
	data.inc_range(35000, 35010);
	data.inc_range(35000, 35010);
	CHECK(data.get_count(35005) == 3);
	data.dec_range(35002, 35004);
	CHECK(data.get_count(35002) == 2);
	CHECK(data.get_count(35004) == 3);

	data.extend(60000);
	CHECK(data.nr_blocks() == 40000);  // as of the last commit
	CHECK(data.nr_blocks_now() == 100000);
	data.commit();
	commit(wp);
	CHECK(data.nr_blocks() == 100000);
	CHECK(data.core().nr_bitmaps() == 7);
	CHECK(data.core().index(6).nr_free == entries_per_bitmap);

	wp.tm.pre_commit();
	test::metadata_counts counts(wp.tm);
	counts.add(0);
	counts.add_space_map(wp.sm.core(), true);
	counts.add_space_map(data.core(), false);
	counts.check(wp.sm);
}
