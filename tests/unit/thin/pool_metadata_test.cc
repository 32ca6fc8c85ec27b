// pool_metadata as dm-thin-metadata.c: the format-time layout, the
// messages and their errors, snapshots and sharing, mappings, the
// metadata snapshot, growth, counts, and exact reference counts of every
// metadata and data block after each commit of a long workload.
#include <catch2/catch.hpp>

#include <cerrno>
#include <set>

#include "pdata/scratch_image.h"
#include "pdata/write_path_fixture.h"
#include "pool_workload.h"
#include "thin/pool_metadata.h"

using namespace thinmeta;
using namespace thinmeta::thin;

namespace {

int errno_of(const std::function<void()>& fn)
{
	try {
		fn();
	} catch (const pool_error& e) {
		return e.errno_value();
	}
	return 0;
}

void check_reference_counts(io::memory_block_store& store, pool_metadata& pmd)
{
	// Metadata: every reference to every block.
	test::metadata_counts counts(pmd.tm());
	counts.add(0);
	counts.add_space_map(pmd.metadata_sm().core(), true);
	counts.add_space_map(pmd.data_sm().core(), false);
	counts.add_tree(pmd.mapping_root(), 2);
	counts.add_tree(pmd.details_root());
	if (block_address held = pmd.metadata_snap()) {
		counts.add(held);
		superblock copy = superblock::decode(store.block(held));
		counts.add_tree(copy.data_mapping_root, 2);
		counts.add_tree(copy.device_details_root);
	}
	counts.check(pmd.metadata_sm());

	// Data: one reference per mapping of each distinct leaf.
	std::map<uint64_t, uint32_t> data;
	test::reachable_blocks(store).for_each_data_ref([&](uint64_t b) { ++data[b]; });
	std::ostringstream wrong;
	uint64_t allocated = 0;
	for (uint64_t b = 0; b < pmd.data_nr_blocks(); ++b) {
		uint32_t want = data.count(b) ? data[b] : 0;
		if (pmd.data_sm().get_count(b) != want)
			wrong << "data block " << b << ": " << pmd.data_sm().get_count(b) << ", expected " << want << "\n";
		allocated += want != 0;
	}
	INFO(wrong.str());
	CHECK(wrong.str().empty());
	CHECK(pmd.data_nr_blocks() - pmd.data_free_blocks() == allocated);
}

}

TEST_CASE("format lays out the kernel's first eight blocks", "[pool_metadata]")
{
	io::memory_block_store store(4096);
	{
		pool_metadata pmd(store, {128, true, 1024});
		CHECK(pmd.mapping_root() == 6);
		CHECK(pmd.details_root() == 7);
		CHECK(pmd.metadata_nr_blocks() == 4096);
		CHECK(pmd.metadata_reserve() == 409);
		CHECK(pmd.metadata_nr_blocks() - pmd.metadata_free_blocks() == 8 + 409);
		CHECK(pmd.data_nr_blocks() == 0);
		CHECK(pmd.transaction_id() == 0);
		CHECK(pmd.time() == 0);
	}
	superblock sb = superblock::decode(store.block(0));
	CHECK(sb.magic == superblock_magic);
	CHECK(sb.version == 2);
	CHECK(sb.blocknr == 0);
	CHECK(sb.data_block_size == 128);
	CHECK(sb.metadata_block_size == 8);
	CHECK(sb.metadata_nr_blocks == 4096);
	CHECK(sb.metadata_sm == pdata::sm_root{4096, 8, 1, 2});
	CHECK(sb.data_sm == pdata::sm_root{0, 0, 4, 5});
	CHECK(sb.data_mapping_root == 6);
	CHECK(sb.device_details_root == 7);
	CHECK(pdata::checksum_matches(store.block(0), pdata::block_kind::superblock));

	// A blank device is not formatted when the caller says not to.
	io::memory_block_store blank(64);
	CHECK(errno_of([&] { pool_metadata p(blank, {128, false, 64}); }) == EPERM);
	// Reopening checks the data block size.
	CHECK(errno_of([&] { pool_metadata p(store, {256, false, 64}); }) == EINVAL);
}

TEST_CASE("messages fail with the kernel's errno", "[pool_metadata]")
{
	io::memory_block_store store(1024);
	pool_metadata pmd(store, {128, true, 1024});
	pmd.create_thin(0);
	CHECK(errno_of([&] { pmd.create_thin(0); }) == EEXIST);
	// Like the kernel, create_snap looks for the new id in the details tree,
	// which gets new devices at commit (every message commits).
	CHECK(errno_of([&] { pmd.create_snap(0, 1); }) == ENODATA);
	pmd.commit();
	CHECK(errno_of([&] { pmd.create_snap(0, 1); }) == EEXIST);
	CHECK(errno_of([&] { pmd.create_snap(1, 7); }) == ENODATA);
	CHECK(errno_of([&] { pmd.delete_device(7); }) == ENODATA);
	CHECK(errno_of([&] { pmd.set_transaction_id(1, 2); }) == EINVAL);
	CHECK(errno_of([&] { pmd.release_metadata_snap(); }) == EINVAL);
	pmd.reserve_metadata_snap();
	CHECK(pmd.metadata_snap() != 0);
	CHECK(errno_of([&] { pmd.reserve_metadata_snap(); }) == EBUSY);
	thin_device td = pmd.open_device(0);
	thin_device again = pmd.open_device(0);
	CHECK(errno_of([&] { pmd.delete_device(0); }) == EBUSY);
	pmd.close_device(again);
	CHECK(errno_of([&] { pmd.close(); }) == EBUSY);
	pmd.close_device(td);
	pmd.set_transaction_id(0, 1);
	CHECK(pmd.transaction_id() == 1);
	pmd.release_metadata_snap();
	CHECK(pmd.metadata_snap() == 0);
	pmd.delete_device(0);
	CHECK_FALSE(pmd.device_exists(0));
	pmd.resize_data_dev(10);
	for (uint64_t b = 0; b < 10; ++b)
		CHECK(pmd.alloc_data_block() == b);
	CHECK(errno_of([&] { pmd.alloc_data_block(); }) == ENOSPC);
	pmd.commit();
	CHECK(errno_of([&] { pmd.resize_data_dev(5); }) == EINVAL);
}

TEST_CASE("snapshots share mappings until a write breaks the sharing", "[pool_metadata]")
{
	io::memory_block_store store(1024);
	pool_metadata pmd(store, {128, true, 1024});
	pmd.resize_data_dev(100);
	pmd.create_thin(0);
	thin_device td = pmd.open_device(0);
	for (uint64_t b = 0; b < 4; ++b)
		pmd.insert_block(td, b, pmd.alloc_data_block());
	pmd.commit();
	CHECK(td->details.mapped_blocks == 4);

	pmd.create_snap(1, 0);
	CHECK(pmd.time() == 1);
	thin_device snap = pmd.open_device(1);
	CHECK(snap->details.mapped_blocks == 4);
	CHECK(snap->details.creation_time == 1);
	CHECK(snap->details.snapshotted_time == 1);
	CHECK(td->details.snapshotted_time == 1);
	pmd.commit();

	auto m = pmd.find_block(td, 2);
	REQUIRE(m);
	CHECK(m->data_block == 2);
	CHECK(m->shared);
	CHECK_FALSE(pmd.data_block_is_shared(2));  // one leaf, shared as a whole
	// Breaking sharing: a new block for the origin; the old one stays with the snapshot.
	uint64_t fresh = pmd.alloc_data_block();
	pmd.insert_block(td, 2, fresh);
	CHECK(td->details.mapped_blocks == 4);
	auto after = pmd.find_block(td, 2);
	REQUIRE(after);
	CHECK(after->data_block == fresh);
	CHECK_FALSE(after->shared);
	CHECK(pmd.find_block(snap, 2)->data_block == 2);
	// The leaf was copied for the origin, so the other blocks now have two leaves.
	CHECK(pmd.data_block_is_shared(1));
	CHECK(pmd.data_sm().get_count(2) == 1);

	auto range = pmd.find_mapped_range(snap, 0, 10);
	REQUIRE(range);
	CHECK(range->thin_begin == 0);
	CHECK(range->thin_end == 4);
	CHECK(range->data_begin == 0);
	CHECK(range->maybe_shared);  // written before the snapshot
	CHECK(pmd.highest_mapped_block(snap) == 3u);

	pmd.remove_range(snap, 1, 3);
	CHECK(snap->details.mapped_blocks == 2);
	CHECK_FALSE(pmd.find_block(snap, 1));
	CHECK(pmd.find_block(snap, 3));
	pmd.close_device(snap);
	pmd.close_device(td);
	pmd.commit();
	check_reference_counts(store, pmd);
}

TEST_CASE("reference counts stay exact through a long workload", "[pool_metadata]")
{
	io::memory_block_store store(4096);
	unsigned checked = 0;
	test::run_pool_workload(store, [&](unsigned, bool before, pool_metadata& pmd) {
		if (!before) {
			check_reference_counts(store, pmd);
			++checked;
		}
		return true;
	});
	CHECK(checked > 12);

	// The closed pool reopens with what the workload left.
	pool_metadata pmd(store, {128, false, 1024});
	CHECK(pmd.transaction_id() == 9);
	CHECK(pmd.data_nr_blocks() == 40000);
	CHECK(pmd.metadata_snap() == 0);
	CHECK(pmd.device_exists(0));
	CHECK_FALSE(pmd.device_exists(1));
	CHECK(pmd.device_exists(19));
	CHECK_FALSE(pmd.device_exists(20));
	CHECK(pmd.device_exists(139));
	thin_device td = pmd.open_device(0);
	std::set<uint64_t> mapped;
	for (uint64_t i = 0; i < 700; ++i)
		mapped.insert((i * 37) % 1000);
	for (uint64_t i = 0; i < 80; ++i)
		mapped.insert(i * 11);
	mapped.erase(mapped.lower_bound(100), mapped.lower_bound(600));
	for (uint64_t i = 0; i < 40; ++i)
		mapped.insert(5000 + i);
	CHECK(td->details.mapped_blocks == mapped.size());
	CHECK(pmd.find_block(td, 5039));
	CHECK_FALSE(pmd.find_block(td, 100));
	pmd.close_device(td);
}

TEST_CASE("the metadata device grows", "[pool_metadata]")
{
	io::memory_block_store store(4096);
	pool_metadata pmd(store, {128, true, 1024});
	pmd.create_thin(0);
	pmd.commit();
	store.resize(50000);
	pmd.resize_metadata_dev(50000);
	CHECK(pmd.metadata_nr_blocks() == 50000);
	CHECK(pmd.metadata_reserve() == 4096);
	pmd.commit();
	check_reference_counts(store, pmd);
	pool_metadata reopened(store, {128, false, 1024});
	CHECK(reopened.metadata_nr_blocks() == 50000);
}

TEST_CASE("needs_check is set in the superblock", "[pool_metadata]")
{
	io::memory_block_store store(1024);
	{
		pool_metadata pmd(store, {128, true, 1024});
		pmd.set_needs_check();
		CHECK(pmd.needs_check());
		pmd.commit();
	}
	CHECK(superblock::decode(store.block(0)).needs_check());
	pool_metadata pmd(store, {128, false, 1024});
	CHECK(pmd.needs_check());
}

TEST_CASE("abort goes back to the last commit", "[pool_metadata]")
{
	io::memory_block_store store(1024);
	pool_metadata pmd(store, {128, true, 1024});
	pmd.create_thin(0);
	pmd.commit();
	auto committed = store.bytes();
	pmd.create_thin(1);
	thin_device td = pmd.open_device(0);
	pmd.resize_data_dev(10);
	pmd.abort();
	CHECK(store.bytes() == committed);
	CHECK_FALSE(pmd.device_exists(1));
	CHECK(pmd.device_exists(0));
	// As in the kernel, the open device is kept and knows it changed nothing.
	CHECK_FALSE(pmd.aborted_changes(td));
	pmd.close_device(td);
}

TEST_CASE("a fresh pool's status counts match the kernel's", "[pool_metadata]")
{
	// Seen on 6.1: "0 418/4096 0/1024" after creation, 419 after create_thin.
	io::memory_block_store store(4096);
	pool_metadata pmd(store, {128, true, 1024});
	pmd.resize_data_dev(1024);
	pmd.commit();
	CHECK(pmd.metadata_nr_blocks() - pmd.metadata_free_blocks() == 418);
	CHECK(pmd.data_nr_blocks() - pmd.data_free_blocks() == 0);
	CHECK(pmd.data_nr_blocks() == 1024);
	pmd.create_thin(0);
	pmd.commit();
	CHECK(pmd.metadata_nr_blocks() - pmd.metadata_free_blocks() == 419);
}

TEST_CASE("pool_metadata works on an image file", "[pool_metadata]")
{
	test::scratch_image image(2048);
	{
		pool_metadata pmd(*image.dev, {256, true, 64});
		pmd.resize_data_dev(5000);
		pmd.create_thin(3);
		thin_device td = pmd.open_device(3);
		for (uint64_t b = 0; b < 600; ++b)
			pmd.insert_block(td, b * 3, pmd.alloc_data_block());
		// As in the kernel, closing the pool forgets the details of devices
		// no longer open: commit while the device is open.
		pmd.commit();
		pmd.close_device(td);
		pmd.close();
	}
	pool_metadata pmd(*image.dev, {256, false, 64});
	thin_device td = pmd.open_device(3);
	CHECK(td->details.mapped_blocks == 600);
	auto m = pmd.find_block(td, 1797);
	REQUIRE(m);
	CHECK(m->data_block == 599);
	pmd.close_device(td);
}
