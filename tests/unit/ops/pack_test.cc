#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/endian.h"
#include "base/error.h"
#include "io/block.h"
#include "ops/pack_decoder.h"
#include "ops/pack_encoder.h"
#include "pdata/btree_node.h"

using namespace thinmeta;
using namespace thinmeta::ops;

namespace {

std::vector<uint8_t> bytes_of(const std::string& s)
{
	return std::vector<uint8_t>(s.begin(), s.end());
}

std::vector<uint8_t> numbers_encoding(std::vector<uint64_t> ns)
{
	std::string out;
	encode_pack_numbers(ns, out);
	return bytes_of(out);
}

// Decodes one block from an instruction stream.
std::vector<uint8_t> decode(const std::vector<uint8_t>& code)
{
	std::vector<uint8_t> block(block_size);
	pack_decoder d(code);
	d.decode_block(block.data());
	CHECK(d.at_end());
	return block;
}

// A block of 512 values: shifted runs of one value, each in the high column
// of the one before it (the innermost high part 2, every low part 3), then
// the last low part 511 more times.
std::vector<uint8_t> nested_shifted_runs(int levels)
{
	std::vector<uint8_t> code;
	for (int level = 0; level < levels; ++level)
		code.insert(code.end(), {0xb0, 1});
	code.insert(code.end(), {0x01, 2});
	for (int level = 0; level < levels; ++level)
		code.insert(code.end(), {0x01, 3});
	code.insert(code.end(), {0x81, 0xff, 0x30});
	return code;
}

std::vector<uint8_t> round_trip(const std::vector<uint8_t>& block, pdata::block_kind kind)
{
	std::string code;
	encode_pack_block(block.data(), kind, code);
	return decode(bytes_of(code));
}

std::vector<uint8_t> node_block(uint32_t flags, uint32_t value_size, uint32_t nr, std::mt19937_64& rng)
{
	std::vector<uint8_t> b(block_size, 0);
	pdata::node_mut n(b.data());
	n.init(flags, value_size, 1234);
	n.set_nr_entries(nr);
	uint64_t k = rng() % 1000;
	for (uint32_t i = 0; i < nr; ++i) {
		k += 1 + (rng() % 4 == 0 ? rng() % 100000 : 0);
		n.set_key(i, k);
		std::vector<uint8_t> v(value_size);
		for (auto& x : v)
			x = static_cast<uint8_t>(rng());
		if (value_size == 8 && i % 3)
			store_le64(v.data(), ((k * 7) << 24) | (rng() % 5));
		n.set_value(i, v.data());
	}
	n.seal();
	return b;
}

}

TEST_CASE("pack numbers: equal steps become counted deltas", "[pack]")
{
	// set (1-byte operand) 1; count 3; pos 1
	CHECK(numbers_encoding({1, 2, 3, 4}) == std::vector<uint8_t>{0x01, 0x01, 0x73, 0x11});
	// set 42; repeat 3
	CHECK(numbers_encoding({42, 42, 42, 42}) == std::vector<uint8_t>{0x01, 42, 0x53});
	// set 10; count 3; neg 2
	CHECK(numbers_encoding({10, 8, 6, 4}) == std::vector<uint8_t>{0x01, 10, 0x73, 0x32});
	// set 300 (2 bytes); pos-wide 1000 (2 bytes), once
	CHECK(numbers_encoding({300, 1300}) == std::vector<uint8_t>{0x02, 0x2c, 0x01, 0x22, 0xe8, 0x03});
	// a run longer than 15: count-wide
	std::vector<uint64_t> run(20);
	for (size_t i = 0; i < run.size(); ++i)
		run[i] = 5 + i;
	CHECK(numbers_encoding(run) == std::vector<uint8_t>{0x01, 5, 0x80, 19, 0x11});
	CHECK(numbers_encoding({}).empty());
}

TEST_CASE("pack literals pick the narrowest length", "[pack]")
{
	std::string out;
	std::vector<uint8_t> three{7, 8, 9};
	encode_pack_literal(three, out);
	CHECK(bytes_of(out) == std::vector<uint8_t>{0x93, 7, 8, 9});
	out.clear();
	std::vector<uint8_t> big(4096, 1);
	encode_pack_literal(big, out);
	REQUIRE(out.size() == 3 + 4096);
	CHECK(bytes_of(out.substr(0, 3)) == std::vector<uint8_t>{0xa2, 0x00, 0x10});
}

TEST_CASE("every kind of block packs and unpacks to the same bytes", "[pack]")
{
	std::mt19937_64 rng(7);
	for (uint32_t vs : {4u, 8u, 16u, 24u}) {
		uint32_t max = pdata::max_entries_for(vs);
		for (uint32_t nr : {0u, 1u, 2u, max / 2, max}) {
			auto leaf = node_block(pdata::leaf_node, vs, nr, rng);
			CHECK(round_trip(leaf, pdata::block_kind::btree_node) == leaf);
		}
	}
	for (uint32_t nr : {1u, 100u, 252u}) {
		auto internal = node_block(pdata::internal_node, 8, nr, rng);
		CHECK(round_trip(internal, pdata::block_kind::btree_node) == internal);
	}
	// Stale bytes past nr_entries, as the kernel leaves them.
	auto stale = node_block(pdata::leaf_node, 8, 252, rng);
	store_le32(stale.data() + 16, 10);
	CHECK(round_trip(stale, pdata::block_kind::btree_node) == stale);
	// A node whose header cannot be right falls back to a literal.
	auto bogus = node_block(pdata::leaf_node, 8, 5, rng);
	store_le32(bogus.data() + 20, 9999);
	CHECK(round_trip(bogus, pdata::block_kind::btree_node) == bogus);
	std::vector<uint8_t> random_block(block_size);
	for (auto& x : random_block)
		x = static_cast<uint8_t>(rng());
	for (auto kind : {pdata::block_kind::superblock, pdata::block_kind::bitmap, pdata::block_kind::index})
		CHECK(round_trip(random_block, kind) == random_block);
}

TEST_CASE("the pack machine runs counts, repeats, negative steps and shifted runs", "[pack]")
{
	std::vector<uint8_t> code;
	// 512 le64 values: 5 (set), 5 x3 (repeat 3), 4 (neg 1), then 0x123 in a
	// 2-byte set counted 2 times, then pos-wide 256 counted 505 times.
	code.insert(code.end(), {0x01, 5, 0x53, 0x31, 0x72, 0x02, 0x23, 0x01});
	code.insert(code.end(), {0x81, 0xf9, 0x22, 0x00, 0x01});
	auto block = decode(code);
	std::vector<uint64_t> want{5, 5, 5, 5, 4, 0x123, 0x123};
	uint64_t v = 0x123;
	while (want.size() < 512)
		want.push_back(v += 256);
	for (size_t i = 0; i < 512; ++i)
		REQUIRE(load_le64(block.data() + 8 * i) == want[i]);

	// A shifted run of 512: high parts 1..512, low parts all 7.
	code = {0xb2, 0x00, 0x01, 1, 0x81, 0xff, 0x11, 0x01, 7, 0x61, 0xff};
	block = decode(code);
	for (size_t i = 0; i < 512; ++i)
		REQUIRE(load_le64(block.data() + 8 * i) == (((i + 1) << 24) | 7));

	// Shifted runs inside shifted runs, four levels.
	block = decode(nested_shifted_runs(4));
	uint64_t first = 2;
	for (int level = 0; level < 4; ++level)
		first = (first << 24) | 3;
	CHECK(load_le64(block.data()) == first);
	for (size_t i = 1; i < 512; ++i)
		REQUIRE(load_le64(block.data() + 8 * i) == 3);
}

TEST_CASE("bad instruction streams are errors, not crashes", "[pack]")
{
	auto fails = [](std::vector<uint8_t> code, const std::string& what) {
		std::vector<uint8_t> block(block_size);
		pack_decoder d(code);
		try {
			d.decode_block(block.data());
			FAIL("no error for " << what);
		} catch (const error& e) {
			CHECK_THAT(e.what(), Catch::Contains(what));
		}
	};
	fails({0xc0}, "unknown instruction 12");
	fails({0x03, 1, 2, 3}, "bad operand width 3");
	fails({0x01}, "ends early");
	fails({}, "ends early");
	fails({0x72, 0x93, 1, 2, 3}, "a count before a literal");
	std::vector<uint8_t> long_literal{0xa2, 0xfa, 0x0f};  // 4090 bytes, then 8 more
	long_literal.resize(3 + 4090, 0);
	long_literal.insert(long_literal.end(), {0x01, 1});
	fails(long_literal, "runs past the end of the block");
	fails({0xa2, 0x00, 0x10, 1, 2}, "runs past the end of the record");
	fails({0xb3, 0x00}, "runs past the end of the block");
	// Four levels of shifted runs are run (the test above); a fifth is
	// refused, and so is a record of them nested a hundred thousand deep
	// (it overflowed the stack before there was a limit).
	fails(nested_shifted_runs(5), "shifted runs nested more than 4 deep");
	std::vector<uint8_t> very_deep;
	for (int level = 0; level < 100000; ++level)
		very_deep.insert(very_deep.end(), {0xb0, 1});
	fails(very_deep, "nested more than 4 deep");

	pack_decoder d(std::vector<uint8_t>{1, 2, 3});
	CHECK_THROWS_AS(d.read_u64(), error);
}
