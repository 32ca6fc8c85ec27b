// The metadata half of tests/interop/test_kernel_metadata_equality.py: the
// same operations the guest script drives through the kernel's dm-thin,
// replayed through pool_metadata, must leave the same metadata image byte
// for byte. Hidden ([.kernel]): it runs only when the interop test starts
// it with THINMETA_KERNEL_IMAGE naming the kernel's image.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "io/memory_block_store.h"
#include "thin/pool_metadata.h"

using namespace thinmeta;

namespace {

std::vector<uint8_t> read_file(const std::string& path)
{
	std::ifstream in(path, std::ios::binary);
	REQUIRE(in);
	return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_and_flush(thin::pool_metadata& pmd, thin::thin_device td, uint64_t vblock)
{
	uint64_t d = pmd.alloc_data_block();
	pmd.insert_block(td, vblock, d);
	pmd.commit();
}

// The pool status line's numbers, after "thin-pool".
struct pool_status {
	uint64_t trans_id, metadata_used, metadata_total, data_used, data_total;
	std::string held_root;
};

std::string describe(const pool_status& s)
{
	std::ostringstream o;
	o << s.trans_id << ' ' << s.metadata_used << '/' << s.metadata_total << ' ' << s.data_used << '/' << s.data_total
	  << ' ' << s.held_root;
	return o.str();
}

pool_status status_of(thin::pool_metadata& pmd)
{
	return {pmd.transaction_id(),
	        pmd.metadata_nr_blocks() - pmd.metadata_free_blocks(),
	        pmd.metadata_nr_blocks(),
	        pmd.data_nr_blocks() - pmd.data_free_blocks(),
	        pmd.data_nr_blocks(),
	        pmd.metadata_snap() ? std::to_string(pmd.metadata_snap()) : "-"};
}

// Keep in step with BASIC_SCRIPT in the interop test.
pool_status replay_basic(io::memory_block_store& store)
{
	thin::pool_metadata pmd(store, {128, true, 4096});
	pmd.resize_data_dev(1024);  // pool preresume
	pmd.commit();
	pmd.create_thin(0);
	pmd.commit();
	thin::thin_device td0 = pmd.open_device(0);
	for (uint64_t b : {0, 1, 2, 3, 10, 100})
		write_and_flush(pmd, td0, b);
	pmd.create_snap(1, 0);
	pmd.commit();
	for (uint64_t b : {1, 3, 200})
		write_and_flush(pmd, td0, b);
	pmd.delete_device(1);
	pmd.commit();
	pmd.reserve_metadata_snap();
	pmd.commit();
	write_and_flush(pmd, td0, 2);
	// discard of block 10 with passdown
	auto r = pmd.find_mapped_range(td0, 10, 11);
	REQUIRE(r);
	pmd.remove_range(td0, r->thin_begin, r->thin_end);
	uint64_t e = r->data_begin + (r->thin_end - r->thin_begin);
	pmd.inc_data_range(r->data_begin, e);
	pmd.dec_data_range(r->data_begin, e);
	pmd.commit();
	pmd.commit();  // status
	pool_status status = status_of(pmd);
	pmd.close_device(td0);
	pmd.commit();  // pool suspend
	pmd.close();
	return status;
}

// Keep in step with SPLITS_SCRIPT in the interop test: mapping leaves split
// and then merge again, a shared two-level tree is changed, a discard
// removes a long range (no passdown).
pool_status replay_splits(io::memory_block_store& store)
{
	thin::pool_metadata pmd(store, {128, true, 4096});
	pmd.resize_data_dev(1024);
	pmd.commit();
	pmd.create_thin(0);
	pmd.commit();
	thin::thin_device td0 = pmd.open_device(0);
	for (uint64_t i = 0; i < 300; ++i)
		write_and_flush(pmd, td0, (i * 7) % 300);
	pmd.create_snap(1, 0);
	pmd.commit();
	for (uint64_t b : {5, 60, 130, 200, 270, 299})
		write_and_flush(pmd, td0, b);
	pmd.create_thin(2);
	pmd.commit();
	thin::thin_device td2 = pmd.open_device(2);
	for (uint64_t b = 0; b < 10; ++b)
		write_and_flush(pmd, td2, b);
	pmd.remove_range(td0, 50, 250);
	pmd.commit();
	pmd.delete_device(1);
	pmd.commit();
	pmd.commit();  // status
	pool_status status = status_of(pmd);
	pmd.close_device(td0);
	pmd.close_device(td2);
	pmd.commit();  // pool suspend
	pmd.close();
	return status;
}

// Keep in step with GROWTH_SCRIPT in the interop test: the data device
// grows from 1024 to 32768 blocks (new data bitmaps), then the metadata
// device from 4096 to 20480 blocks (a second metadata bitmap), each taken
// in when the pool is resumed.
pool_status replay_growth(io::memory_block_store& store)
{
	store.resize(4096);
	thin::pool_metadata pmd(store, {128, true, 4096});
	pmd.resize_data_dev(1024);
	pmd.commit();
	pmd.create_thin(0);
	pmd.commit();
	thin::thin_device td0 = pmd.open_device(0);
	uint64_t b = 0;
	for (; b < 20; ++b)
		write_and_flush(pmd, td0, b);
	pmd.commit();  // the old table's postsuspend
	pmd.resize_data_dev(32768);
	pmd.commit();  // preresume
	for (; b < 30; ++b)
		write_and_flush(pmd, td0, b);
	pmd.commit();  // suspend
	store.resize(20480);
	pmd.resize_metadata_dev(20480);
	pmd.commit();  // preresume
	for (; b < 40; ++b)
		write_and_flush(pmd, td0, b);
	pmd.commit();  // status
	pool_status status = status_of(pmd);
	pmd.close_device(td0);
	pmd.commit();  // pool suspend
	pmd.close();
	return status;
}

// Keep in step with REOPEN_SCRIPTS in the interop test: a discard with
// passdown, a clean close, then the pool is opened again (both allocators'
// cursors start from 0 again) and written.
pool_status replay_reopen(io::memory_block_store& store)
{
	{
		thin::pool_metadata pmd(store, {128, true, 4096});
		pmd.resize_data_dev(1024);
		pmd.commit();
		pmd.create_thin(0);
		pmd.commit();
		thin::thin_device td0 = pmd.open_device(0);
		for (uint64_t b = 0; b < 6; ++b)
			write_and_flush(pmd, td0, b);
		auto r = pmd.find_mapped_range(td0, 0, 2);
		REQUIRE(r);
		pmd.remove_range(td0, r->thin_begin, r->thin_end);
		uint64_t e = r->data_begin + (r->thin_end - r->thin_begin);
		pmd.inc_data_range(r->data_begin, e);
		pmd.dec_data_range(r->data_begin, e);
		pmd.commit();
		pmd.close_device(td0);
		pmd.commit();  // pool suspend
		pmd.close();
	}
	thin::pool_metadata pmd(store, {128, false, 4096});
	pmd.resize_data_dev(1024);  // no change: no commit
	thin::thin_device td0 = pmd.open_device(0);
	for (uint64_t b : {10, 11, 12})
		write_and_flush(pmd, td0, b);
	pmd.commit();  // status
	pool_status status = status_of(pmd);
	pmd.close_device(td0);
	pmd.commit();  // pool suspend
	pmd.close();
	return status;
}

// Keep in step with BIG_DATA_SCRIPT in the interop test: 2900000 data
// blocks need 178 bitmaps, more than the kernel's 64-entry index cache holds
// and more than one leaf of the data space map's index tree (168) takes.
pool_status replay_big_data(io::memory_block_store& store)
{
	thin::pool_metadata pmd(store, {128, true, 4096});
	pmd.resize_data_dev(2900000);
	pmd.commit();
	pmd.create_thin(0);
	pmd.commit();
	thin::thin_device td0 = pmd.open_device(0);
	for (uint64_t b = 0; b < 3; ++b)
		write_and_flush(pmd, td0, b);
	pmd.commit();  // status
	pool_status status = status_of(pmd);
	pmd.close_device(td0);
	pmd.commit();  // pool suspend
	pmd.close();
	return status;
}

// Keep in step with WIDE_SCRIPT in the interop test: 1280 mappings written
// in runs of 40 whose starts jump about, so full leaves in the middle of the
// tree split two into three and share entries with their siblings. Each
// write is synchronous (O_DSYNC): allocate, insert, commit.
pool_status replay_wide(io::memory_block_store& store)
{
	thin::pool_metadata pmd(store, {128, true, 4096});
	pmd.resize_data_dev(2048);
	pmd.commit();
	pmd.create_thin(0);
	pmd.commit();
	thin::thin_device td0 = pmd.open_device(0);
	for (uint64_t c : {0, 16, 8, 24, 4, 12, 20, 28, 2, 6, 10, 14, 18, 22, 26, 30, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21,
	                   23, 25, 27, 29, 31})
		for (uint64_t b = c * 60; b < c * 60 + 40; ++b)
			write_and_flush(pmd, td0, b);
	// Discards without passdown: leaves merge, centres of three go.
	pmd.remove_range(td0, 300, 1300);
	pmd.commit();
	pmd.remove_range(td0, 1500, 1600);
	pmd.commit();
	pmd.commit();  // status
	pool_status status = status_of(pmd);
	pmd.close_device(td0);
	pmd.commit();  // pool suspend
	pmd.close();
	return status;
}

// Keep in step with SHARING_SCRIPT in the interop test: snapshots of
// snapshots, leaves shared three and four ways (data counts of 3 and more go
// to the overflow tree), delete of a shared tree, a metadata snapshot taken
// and released, and an id used again.
pool_status replay_sharing(io::memory_block_store& store)
{
	thin::pool_metadata pmd(store, {128, true, 4096});
	pmd.resize_data_dev(1024);
	pmd.commit();
	auto message = [&](const std::function<void()>& fn) {
		fn();
		pmd.commit();
	};
	message([&] { pmd.create_thin(0); });
	thin::thin_device td0 = pmd.open_device(0);
	for (uint64_t b = 0; b < 30; ++b)
		write_and_flush(pmd, td0, b);
	message([&] { pmd.create_snap(1, 0); });
	message([&] { pmd.create_snap(2, 0); });
	message([&] { pmd.create_snap(3, 1); });
	write_and_flush(pmd, td0, 5);
	thin::thin_device td1 = pmd.open_device(1);
	write_and_flush(pmd, td1, 7);
	thin::thin_device td2 = pmd.open_device(2);
	write_and_flush(pmd, td2, 9);
	message([&] { pmd.reserve_metadata_snap(); });
	message([&] { pmd.delete_device(3); });
	write_and_flush(pmd, td0, 11);
	message([&] { pmd.release_metadata_snap(); });
	message([&] { pmd.set_transaction_id(0, 7); });
	pmd.close_device(td2);
	message([&] { pmd.delete_device(2); });
	message([&] { pmd.create_thin(3); });
	pmd.commit();  // status
	pool_status status = status_of(pmd);
	pmd.close_device(td0);
	pmd.close_device(td1);
	pmd.commit();  // pool suspend
	pmd.close();
	return status;
}

}

TEST_CASE("pool_metadata replays the kernel's metadata image byte for byte", "[.kernel]")
{
	const char* kernel_image = std::getenv("THINMETA_KERNEL_IMAGE");
	REQUIRE(kernel_image);
	std::vector<uint8_t> theirs = read_file(kernel_image);
	REQUIRE(theirs.size() % block_size == 0);
	io::memory_block_store store(theirs.size() / block_size);
	std::string scenario = std::getenv("THINMETA_SCENARIO") ? std::getenv("THINMETA_SCENARIO") : "basic";
	pool_status status = scenario == "splits"   ? replay_splits(store)
	                     : scenario == "growth" ? replay_growth(store)
	                     : scenario == "sharing" ? replay_sharing(store)
	                     : scenario == "reopen" ? replay_reopen(store)
	                     : scenario == "big_data" ? replay_big_data(store)
	                     : scenario == "wide" ? replay_wide(store)
	                                            : replay_basic(store);
	if (const char* line = std::getenv("THINMETA_KERNEL_STATUS")) {
		// "0 131072 thin-pool 0 423/4096 8/1024 91 rw ..."
		std::istringstream in(line);
		std::string start, len, target, trans, meta, data, held;
		in >> start >> len >> target >> trans >> meta >> data >> held;
		CHECK(describe(status) == trans + " " + meta + " " + data + " " + held);
	}
	std::ostringstream differing;
	unsigned nr_differing = 0;
	// The kernel's device may be larger than the metadata ever grew: the
	// rest must be untouched.
	REQUIRE(theirs.size() >= store.bytes().size());
	std::vector<uint8_t> ours(store.bytes());
	ours.resize(theirs.size(), 0);
	if (const char* out = std::getenv("THINMETA_REPLAY_OUT")) {
		std::ofstream o(out, std::ios::binary);
		o.write(reinterpret_cast<const char*>(ours.data()), static_cast<std::streamsize>(ours.size()));
	}
	for (uint64_t b = 0; b < ours.size() / block_size; ++b) {
		if (std::memcmp(ours.data() + b * block_size, theirs.data() + b * block_size, block_size)) {
			if (nr_differing++ < 40)
				differing << b << ' ';
		}
	}
	INFO("blocks that differ: " << differing.str());
	CHECK(nr_differing == 0);
}
