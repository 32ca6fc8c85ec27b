#include <catch2/catch.hpp>

#include <array>
#include <map>
#include <optional>
#include <vector>

#include "base/endian.h"
#include "io/block_device.h"
#include "pdata/btree_builder.h"
#include "pdata/btree_node.h"
#include "pdata/node_check.h"
#include "pdata/scratch_image.h"

using namespace thinmeta;
using namespace thinmeta::pdata;
using thinmeta::test::scratch_image;

namespace {

// A scratch image file that goes away with the test.

struct entry {
	uint64_t key;
	uint64_t value;
	bool operator==(const entry&) const = default;
};

// What a walk of a built tree found.
struct tree_facts {
	std::vector<entry> entries;
	std::map<block_address, uint32_t> references;  // node -> parent slots naming it
	unsigned leaf_depth = 0;
	uint64_t nr_leaves = 0;
	uint64_t nr_internal = 0;
};

// Walks the tree at `root`, checking every rule of spec §3.3 on the way:
// sound nodes, value sizes, occupancy of non-root nodes, parent keys equal
// to the child's first key, keys ascending across leaves, uniform depth.
class tree_checker {
public:
	tree_checker(bulk_block_writer& out, uint32_t value_size) : out_(out), value_size_(value_size) {}

	tree_facts walk(block_address root)
	{
		facts_ = {};
		depth_seen_ = false;
		visit(root, 0, true, std::nullopt);
		return facts_;
	}

private:
	void visit(block_address b, unsigned depth, bool is_root, std::optional<uint64_t> parent_key)
	{
		std::array<uint8_t, block_size> raw;
		out_.read(b, raw.data());
		INFO("node " << b);
		REQUIRE(check_node(raw.data(), b, value_size_) == "");
		node_view n(raw.data());
		REQUIRE(n.max_entries() == max_entries_for(n.value_size()));
		if (!is_root)
			REQUIRE(n.nr_entries() >= min_entries_for(n.max_entries()));
		if (parent_key) {
			REQUIRE(n.nr_entries() > 0);
			REQUIRE(n.key(0) == *parent_key);
		}
		if (n.is_internal()) {
			++facts_.nr_internal;
			for (uint32_t i = 0; i < n.nr_entries(); ++i) {
				++facts_.references[n.child(i)];
				visit(n.child(i), depth + 1, false, n.key(i));
			}
			return;
		}
		++facts_.nr_leaves;
		if (!depth_seen_) {
			facts_.leaf_depth = depth;
			depth_seen_ = true;
		}
		REQUIRE(depth == facts_.leaf_depth);
		for (uint32_t i = 0; i < n.nr_entries(); ++i) {
			uint64_t v = value_size_ == 8 ? n.value64(i) : load_le32(n.value(i));
			if (!facts_.entries.empty())
				REQUIRE(n.key(i) > facts_.entries.back().key);
			facts_.entries.push_back({n.key(i), v});
		}
	}

	bulk_block_writer& out_;
	uint32_t value_size_;
	tree_facts facts_;
	bool depth_seen_ = false;
};

std::vector<entry> make_entries(uint64_t n, uint64_t first_key = 0, uint64_t step = 3)
{
	std::vector<entry> out;
	out.reserve(n);
	for (uint64_t i = 0; i < n; ++i)
		out.push_back({first_key + i * step, (first_key + i * step) * 7 + 1});
	return out;
}

void push_all(btree_builder& b, const std::vector<entry>& entries)
{
	for (const auto& e : entries) {
		uint8_t v[8];
		store_le64(v, e.value);
		b.push(e.key, v);
	}
}

// Counts values copied out of reused leaves.
struct copy_counter final : value_references {
	std::map<uint64_t, unsigned> copies;
	void copied(const uint8_t* value) override { ++copies[load_le64(value)]; }
};

// Every node a tree references must have exactly that many references in
// the writer's counts (the root's own reference is the caller's to add).
void check_counts(const bulk_block_writer& out, const tree_facts& facts)
{
	for (const auto& [block, refs] : facts.references) {
		INFO("node " << block);
		CHECK(out.count(block) == refs);
	}
}

}

TEST_CASE("btree_builder keeps every node at least a third full", "[btree_builder]")
{
	uint64_t n = GENERATE(0, 1, 2, 83, 84, 85, 251, 252, 253, 300, 377, 378, 379, 503, 504, 505, 757,
	                      252 * 84, 252 * 252, 252 * 252 + 1, 252 * 252 * 2 + 17);
	scratch_image img(20000);
	bulk_block_writer out(*img.dev, 20000, 1);
	btree_builder b(out, 8);
	auto entries = make_entries(n);
	push_all(b, entries);
	block_address root = b.finish();
	out.flush();

	tree_checker checker(out, 8);
	tree_facts facts = checker.walk(root);
	CHECK(facts.entries == entries);
	check_counts(out, facts);
	CHECK(out.count(root) == 0);
	// Packed: as few leaves as the entries need, one block per node.
	uint64_t min_leaves = n ? (n + 251) / 252 : 1;
	CHECK(facts.nr_leaves == min_leaves);
	CHECK(out.nr_used() == 1 + facts.nr_leaves + facts.nr_internal);
}

TEST_CASE("btree_builder builds a tree of a million entries", "[btree_builder]")
{
	scratch_image img(6000);
	bulk_block_writer out(*img.dev, 6000, 1, 64);
	btree_builder b(out, 8);
	auto entries = make_entries(1'000'000, 5, 2);
	push_all(b, entries);
	block_address root = b.finish();
	out.flush();

	tree_facts facts = tree_checker(out, 8).walk(root);
	CHECK(facts.entries == entries);
	CHECK(facts.nr_leaves == (1'000'000 + 251) / 252);
	CHECK(facts.leaf_depth == 2);
	check_counts(out, facts);
}

TEST_CASE("btree_builder handles other value sizes", "[btree_builder]")
{
	uint32_t value_size = GENERATE(4u, 16u, 24u);
	uint64_t n = GENERATE(0, 1, 200, 2000, 40000);
	scratch_image img(2000);
	bulk_block_writer out(*img.dev, 2000, 1);
	btree_builder b(out, value_size);
	std::vector<entry> entries;
	for (uint64_t i = 0; i < n; ++i) {
		std::array<uint8_t, 24> v{};
		store_le32(v.data(), uint32_t(i * 5));
		b.push(i * 11, v.data());
		entries.push_back({i * 11, i * 5});
	}
	block_address root = b.finish();
	out.flush();
	tree_facts facts = tree_checker(out, value_size).walk(root);
	CHECK(facts.entries == entries);
	CHECK(facts.nr_leaves == (n ? (n + max_entries_for(value_size) - 1) / max_entries_for(value_size) : 1));
	check_counts(out, facts);
}

TEST_CASE("btree_builder rejects keys out of order", "[btree_builder]")
{
	scratch_image img(100);
	bulk_block_writer out(*img.dev, 100, 1);
	btree_builder b(out, 8);
	uint8_t v[8] = {};
	b.push(10, v);
	CHECK_THROWS_AS(b.push(10, v), error);
	CHECK_THROWS_AS(b.push(3, v), error);
}

namespace {

// A tree made of pieces: runs of own entries and reused leaf runs.
struct piece {
	bool shared;
	uint64_t count;  // entries
};

struct shared_case {
	std::vector<piece> pieces;
};

}

TEST_CASE("btree_builder reuses leaves and keeps the rules", "[btree_builder]")
{
	// Each case: a device made of own entries (false) and a reused run of a
	// leaf set (true) of the given size.
	std::vector<std::vector<piece>> cases = {
	    {{true, 252}},
	    {{true, 50}},
	    {{true, 1000}},
	    {{true, 252}, {true, 252}},
	    {{true, 50}, {true, 50}},
	    {{false, 10}, {true, 1000}},
	    {{true, 1000}, {false, 10}},
	    {{true, 1000}, {false, 83}},
	    {{true, 1000}, {false, 84}},
	    {{false, 10}, {true, 1000}, {false, 10}, {true, 252}, {false, 1}},
	    {{false, 600}, {true, 600}, {false, 600}},
	    {{false, 83}, {true, 84}, {false, 83}},
	    {{true, 84}, {true, 83}, {true, 84}},
	    {{false, 252 * 3}, {true, 252 * 300}, {false, 252 * 2 + 1}},
	    {{true, 100}, {false, 100}, {true, 100}, {false, 100}},
	};
	for (size_t c = 0; c < cases.size(); ++c) {
		INFO("case " << c);
		scratch_image img(4000);
		bulk_block_writer out(*img.dev, 4000, 1);
		copy_counter copies;

		// First the shared leaf runs, as a def would make them.
		uint64_t key = 0;
		std::vector<std::vector<built_node>> runs;
		std::vector<std::vector<entry>> run_entries;
		std::vector<entry> expected;
		for (const auto& p : cases[c]) {
			auto entries = make_entries(p.count, key, 2);
			key += p.count * 2 + 1;
			if (p.shared) {
				leaf_run_builder run(out, 8, &copies);
				for (const auto& e : entries) {
					uint8_t v[8];
					store_le64(v, e.value);
					run.push(e.key, v);
				}
				runs.push_back(run.finish());
			} else {
				runs.push_back({});
			}
			run_entries.push_back(entries);
			expected.insert(expected.end(), entries.begin(), entries.end());
		}

		// Then two trees that both reuse them.
		std::vector<block_address> roots;
		for (int tree = 0; tree < 2; ++tree) {
			btree_builder b(out, 8, &copies);
			for (size_t i = 0; i < cases[c].size(); ++i) {
				if (cases[c][i].shared) {
					for (const auto& leaf : runs[i])
						b.push_leaf(leaf);
				} else {
					push_all(b, run_entries[i]);
				}
			}
			roots.push_back(b.finish());
		}
		out.flush();

		std::map<block_address, uint32_t> refs;
		uint64_t copied = 0;
		for (auto root : roots) {
			tree_facts facts = tree_checker(out, 8).walk(root);
			CHECK(facts.entries == expected);
			for (const auto& [block, n] : facts.references)
				refs[block] += n;
			refs[root] += 0;
		}
		for (auto root : roots)
			out.inc(root);
		for (auto root : roots)
			++refs[root];
		for (const auto& [block, n] : refs) {
			INFO("node " << block);
			CHECK(out.count(block) == n);
		}
		// A reused leaf is either referenced or its entries were copied:
		// every shared entry appears once per tree, either way.
		for (size_t i = 0; i < cases[c].size(); ++i) {
			if (!cases[c][i].shared)
				continue;
			for (const auto& leaf : runs[i]) {
				uint32_t uses = out.count(leaf.block);
				std::array<uint8_t, block_size> raw;
				out.read(leaf.block, raw.data());
				node_view n(raw.data());
				for (uint32_t e = 0; e < n.nr_entries(); ++e) {
					INFO("leaf " << leaf.block << " entry " << e);
					CHECK(uses + copies.copies[n.value64(e)] == 2);
					copied += copies.copies[n.value64(e)];
				}
			}
		}
		(void)copied;
	}
}

TEST_CASE("btree_builder shares a whole small leaf as a root", "[btree_builder]")
{
	scratch_image img(100);
	bulk_block_writer out(*img.dev, 100, 1);
	leaf_run_builder run(out, 8);
	auto entries = make_entries(10);
	for (const auto& e : entries) {
		uint8_t v[8];
		store_le64(v, e.value);
		run.push(e.key, v);
	}
	auto leaves = run.finish();
	REQUIRE(leaves.size() == 1);
	btree_builder b(out, 8);
	b.push_leaf(leaves[0]);
	CHECK(b.finish() == leaves[0].block);
}

TEST_CASE("leaf_run_builder makes nothing of no entries", "[btree_builder]")
{
	scratch_image img(10);
	bulk_block_writer out(*img.dev, 10, 1);
	leaf_run_builder run(out, 8);
	CHECK(run.finish().empty());
	CHECK(out.nr_used() == 1);
}
