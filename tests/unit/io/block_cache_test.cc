// The block cache: zeroed new blocks, dirty tracking, flush in ascending
// runs, bounded memory, and held-back blocks that only flush() writes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "base/endian.h"
#include "io/block_cache.h"
#include "io/memory_block_store.h"

using namespace thinmeta;

namespace {

// Records every write_range call on top of a memory store.
struct recording_store : io::block_store {
	explicit recording_store(uint64_t n) : mem(n) {}
	uint64_t nr_blocks() const override { return mem.nr_blocks(); }
	void read_range(block_address first, uint64_t count, uint8_t* out) const override
	{
		++reads;
		mem.read_range(first, count, out);
	}
	void write_range(block_address first, uint64_t count, const uint8_t* data) override
	{
		writes.emplace_back(first, count);
		mem.write_range(first, count, data);
	}
	void flush() override { ++flushes; }

	io::memory_block_store mem;
	std::vector<std::pair<block_address, uint64_t>> writes;
	mutable unsigned reads = 0;
	unsigned flushes = 0;
};



}

TEST_CASE("new blocks are zeroed and nothing reaches the store before a flush", "[block_cache]")
{
	recording_store store(64);
	std::memset(store.mem.block(5), 0xAB, block_size);
	io::block_cache cache(store, 32);
	{
		auto h = cache.write_zeroed(5, nullptr);
		CHECK(std::all_of(h.data(), h.data() + block_size, [](uint8_t c) { return c == 0; }));
		h.data_mut()[100] = 7;
	}
	CHECK(store.reads == 0);
	CHECK(store.writes.empty());
	CHECK(cache.nr_dirty() == 1);
	CHECK(store.mem.block(5)[100] == 0xAB);
	cache.flush();
	CHECK(store.mem.block(5)[100] == 7);
	CHECK(store.mem.block(5)[0] == 0);
	CHECK(store.flushes == 1);
	CHECK(cache.nr_dirty() == 0);
}

TEST_CASE("flush writes dirty blocks in ascending order, consecutive ones in one request", "[block_cache]")
{
	recording_store store(64);
	io::block_cache cache(store, 32);
	for (block_address b : {9, 3, 4, 20, 5, 10, 30})
		cache.write_zeroed(b, [](uint8_t* p, block_address where) { store_le64(p + 8, where); });
	{
		auto h = cache.read(40);  // read, not dirty
	}
	cache.flush();
	using run = std::pair<block_address, uint64_t>;
	CHECK(store.writes == std::vector<run>{{3, 3}, {9, 2}, {20, 1}, {30, 1}});
	// The preparer ran on each block as it was written.
	CHECK(load_le64(store.mem.block(10) + 8) == 10);
	store.writes.clear();
	cache.flush();
	CHECK(store.writes.empty());
}

TEST_CASE("write() reads the block, marks it dirty, and keeps its contents", "[block_cache]")
{
	recording_store store(16);
	store.mem.block(2)[7] = 42;
	io::block_cache cache(store, 16);
	{
		auto h = cache.write(2, nullptr, nullptr);
		CHECK(h.data()[7] == 42);
		h.data_mut()[8] = 43;
	}
	cache.flush();
	CHECK(store.mem.block(2)[7] == 42);
	CHECK(store.mem.block(2)[8] == 43);
}

TEST_CASE("a validator runs once when a block comes from the store", "[block_cache]")
{
	io::memory_block_store store(8);
	store.block(1)[0] = 1;
	io::block_cache cache(store, 16);
	auto bad = [](const uint8_t* p, block_address) -> std::string { return p[0] ? "bad" : ""; };
	CHECK_THROWS_WITH(cache.read(1, bad), "metadata block 1: bad");
	CHECK_NOTHROW(cache.read(2, bad));
	CHECK_THROWS(cache.read(8));
}

TEST_CASE("memory stays bounded: clean blocks are evicted, dirty ones written early", "[block_cache]")
{
	recording_store store(4096);
	io::block_cache cache(store, 64);
	for (block_address b = 0; b < 1000; ++b)
		cache.read(b);
	CHECK(cache.nr_cached() <= 64);
	for (block_address b = 1000; b < 2000; ++b)
		cache.write_zeroed(b, nullptr).data_mut()[0] = static_cast<uint8_t>(b);
	CHECK(cache.nr_cached() <= 64);
	CHECK_FALSE(store.writes.empty());
	cache.flush();
	for (block_address b = 1000; b < 2000; ++b)
		REQUIRE(store.mem.block(b)[0] == static_cast<uint8_t>(b));
}

TEST_CASE("a held-back block is written by flush only", "[block_cache]")
{
	recording_store store(4096);
	io::block_cache cache(store, 16);
	cache.hold_back(0);
	cache.write_zeroed(0, nullptr).data_mut()[0] = 1;
	for (block_address b = 100; b < 300; ++b)
		cache.write_zeroed(b, nullptr);
	for (auto& [first, count] : store.writes)
		CHECK(first > 0);
	CHECK(store.mem.block(0)[0] == 0);
	cache.flush();
	CHECK(store.mem.block(0)[0] == 1);
}

TEST_CASE("pinned blocks stay in memory while the cache is full", "[block_cache]")
{
	io::memory_block_store store(256);
	io::block_cache cache(store, 16);
	std::vector<io::block_cache::handle> held;
	for (block_address b = 0; b < 40; ++b)
		held.push_back(cache.write_zeroed(b, nullptr));
	for (block_address b = 0; b < 40; ++b)
		held[b].data_mut()[0] = static_cast<uint8_t>(b + 1);
	held.clear();
	cache.flush();
	for (block_address b = 0; b < 40; ++b)
		REQUIRE(store.block(b)[0] == b + 1);
	CHECK_NOTHROW(cache.drop_all());
	CHECK(cache.nr_cached() == 0);
}

TEST_CASE("the memory store drops writes past its limit", "[block_cache]")
{
	io::memory_block_store store(8);
	std::vector<uint8_t> data(3 * block_size, 9);
	store.persist_only(2);
	store.write_range(1, 3, data.data());
	CHECK(store.block(1)[0] == 9);
	CHECK(store.block(2)[0] == 9);
	CHECK(store.block(3)[0] == 0);
	CHECK(store.nr_block_writes() == 3);
}
