// read_ahead: batches arrive in order with the right blocks, each prepared
// before the consumer sees it, with more batches than buffers; errors of
// reading and of preparing reach the consumer; a consumer that stops early
// does not hang. Each case runs with preparation on the reading thread (a
// file's policy) and on a thread of its own (a block device's), with one
// reading thread and with two reading alternate batches, and with one and
// two readers asked for where reads are copies from the page cache.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base/error.h"
#include "io/block_device.h"
#include "io/read_ahead.h"
#include "support/temp_file.h"

using namespace thinmeta;
using thinmeta::io::block_device;
using thinmeta::io::read_ahead;

namespace {

constexpr size_t nr_blocks = 64;

// Block b holds b + 1 in every byte. Opened with reads that wait for the
// disk or not, so preparation runs on its own thread or on the reader's,
// and with one or two batches read at once.
block_device numbered_image(test::temp_dir& dir)
{
	std::vector<uint8_t> bytes(nr_blocks * block_size);
	for (size_t b = 0; b < nr_blocks; ++b)
		std::memset(bytes.data() + b * block_size, int(b + 1), block_size);
	auto dev = block_device::open(dir.write("img", bytes), io::access::read_only);
	io::read_policy policy;
	policy.reads_wait = GENERATE(false, true);
	policy.batches_in_flight = GENERATE(1u, 2u);  // where reads do not wait, one all the same
	dev.set_read_policy(policy);
	return dev;
}

// Batch k holds blocks 5k .. 5k + 4, backwards, so slots and blocks differ.
std::vector<block_address> batch_blocks(size_t nr_batches)
{
	std::vector<block_address> blocks;
	for (size_t k = 0; k < nr_batches; ++k)
		for (size_t j = 0; j < 5; ++j)
			blocks.push_back(5 * k + 4 - j);
	return blocks;
}

io::cached_readers cached_choice()
{
	return GENERATE(io::cached_readers::one, io::cached_readers::two);
}

std::vector<std::span<const block_address>> spans_of(const std::vector<block_address>& blocks)
{
	std::vector<std::span<const block_address>> batches;
	for (size_t k = 0; k * 5 < blocks.size(); ++k)
		batches.emplace_back(blocks.data() + 5 * k, 5);
	return batches;
}

}

TEST_CASE("read_ahead hands over every batch in order, each prepared first", "[read_ahead]")
{
	test::temp_dir dir;
	auto dev = numbered_image(dir);
	constexpr size_t nr_batches = 11;  // well past the number of buffers
	auto blocks = batch_blocks(nr_batches);
	auto batches = spans_of(blocks);

	// Two readers of cached reads each prepare the batches they read, in
	// any order; else batches are prepared in order.
	auto cached = cached_choice();
	bool prepared_by_two = !dev.policy().reads_wait && cached == io::cached_readers::two;
	std::vector<uint8_t> first_byte_seen(nr_batches, 0);
	std::vector<std::thread::id> preparer(nr_batches);
	std::vector<std::atomic<int>> times_prepared(nr_batches);
	std::atomic<size_t> prepared{0};
	std::atomic<bool> in_order = true;
	read_ahead reader(
	    dev, batches,
	    [&](size_t k, const uint8_t* data, size_t n) {
		    if (k != prepared.load() || n != 5)
			    in_order = false;
		    first_byte_seen[k] = data[0];
		    preparer[k] = std::this_thread::get_id();
		    ++times_prepared[k];
		    ++prepared;
	    },
	    cached);
	REQUIRE(reader.nr_batches() == nr_batches);
	for (size_t k = 0; k < nr_batches; ++k) {
		const uint8_t* data = reader.next();
		INFO("batch " << k);
		CHECK(times_prepared[k].load() == 1);
		CHECK(first_byte_seen[k] == 5 * k + 5);
		for (size_t j = 0; j < 5; ++j) {
			CHECK(data[j * block_size] == 5 * k + 4 - j + 1);
			CHECK(data[j * block_size + block_size - 1] == 5 * k + 4 - j + 1);
		}
	}
	if (!prepared_by_two)
		CHECK(in_order);
	// Two readers take alternate batches: two threads prepare them.
	for (size_t k = 2; k < nr_batches; ++k)
		CHECK(preparer[k] == preparer[k - 2]);
	CHECK((preparer[0] != preparer[1]) == prepared_by_two);
}

TEST_CASE("read_ahead without preparation", "[read_ahead]")
{
	test::temp_dir dir;
	auto dev = numbered_image(dir);
	auto blocks = batch_blocks(9);
	read_ahead reader(dev, spans_of(blocks), {}, cached_choice());
	for (size_t k = 0; k < 9; ++k)
		CHECK(reader.next()[block_size] == 5 * k + 3 + 1);
}

TEST_CASE("read_ahead passes on a failed read after the batches before it", "[read_ahead]")
{
	test::temp_dir dir;
	auto dev = numbered_image(dir);
	auto blocks = batch_blocks(4);
	blocks[12] = nr_blocks + 3;  // batch 2, past the end
	auto batches = spans_of(blocks);
	read_ahead reader(dev, batches, {}, cached_choice());
	CHECK(reader.next()[0] == 5);
	CHECK(reader.next()[0] == 10);
	CHECK_THROWS_WITH(reader.next(), Catch::Contains("block " + std::to_string(nr_blocks + 3)));
}

TEST_CASE("read_ahead hands over every batch before a failed read, whichever reader fails first",
          "[read_ahead]")
{
	test::temp_dir dir;
	auto dev = numbered_image(dir);
	auto blocks = batch_blocks(6);
	blocks[17] = nr_blocks + 1;  // batch 3 (the second reader's, where there are two)
	read_ahead reader(dev, spans_of(blocks), {}, cached_choice());
	for (size_t k = 0; k < 3; ++k)
		CHECK(reader.next()[0] == 5 * k + 5);
	CHECK_THROWS_WITH(reader.next(), Catch::Contains("block " + std::to_string(nr_blocks + 1)));
}

TEST_CASE("read_ahead passes on a failed preparation after the batches before it", "[read_ahead]")
{
	test::temp_dir dir;
	auto dev = numbered_image(dir);
	auto blocks = batch_blocks(6);
	read_ahead reader(
	    dev, spans_of(blocks),
	    [](size_t k, const uint8_t*, size_t) {
		    if (k == 4)
			    throw std::runtime_error("batch 4 is unusable");
	    },
	    cached_choice());
	for (size_t k = 0; k < 4; ++k)
		CHECK(reader.next()[0] == 5 * k + 5);
	CHECK_THROWS_WITH(reader.next(), "batch 4 is unusable");
}

TEST_CASE("read_ahead stops cleanly when the consumer stops early", "[read_ahead]")
{
	test::temp_dir dir;
	auto dev = numbered_image(dir);
	auto blocks = batch_blocks(12);
	std::atomic<size_t> prepared{0};
	{
		read_ahead reader(dev, spans_of(blocks), [&](size_t, const uint8_t*, size_t) { ++prepared; }, cached_choice());
		reader.next();
		reader.next();
	}
	// The reader stayed within its buffers of the consumer: batches 0 and 1
	// handed over, at most four more read.
	CHECK(prepared.load() >= 2);
	CHECK(prepared.load() <= 2 + io::read_ahead_buffers::count);
}
