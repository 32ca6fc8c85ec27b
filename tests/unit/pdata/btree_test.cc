// B-tree insert, overwrite, remove and remove_leaves through the write
// path, checked against a std::map model after every step: contents, node
// invariants, and every metadata block's reference count (with a shared
// copy of the tree in play, so shadowing increments children).
#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "pdata/btree.h"
#include "write_path_fixture.h"

using namespace thinmeta;
using namespace thinmeta::pdata;

namespace {

// A value of `size` bytes that records the key and a version.
std::vector<uint8_t> make_value(uint32_t size, uint64_t key, uint32_t version)
{
	std::vector<uint8_t> v(size, static_cast<uint8_t>(key * 7 + version));
	store_le64(v.data(), key);
	if (size >= 12)
		store_le32(v.data() + 8, version);
	return v;
}

struct tree_under_test {
	tree_under_test(test::write_path& wp, uint32_t value_size) : wp(wp), vt(value_size), info{&wp.tm, 1, &vt}
	{
		root = btree_empty(info);
	}

	void check(const std::map<uint64_t, std::vector<uint8_t>>& model, block_address r)
	{
		test::btree_checker checker(wp.tm, vt.size());
		std::vector<uint64_t> keys = checker.check(r);
		max_depth = std::max(max_depth, checker.depth());
		std::vector<uint64_t> want;
		for (auto& [k, v] : model)
			want.push_back(k);
		REQUIRE(keys == want);
		uint64_t wrong_values = 0;
		btree_walk(info, r, [&](uint64_t k, const uint8_t* v) {
			wrong_values += std::memcmp(v, model.at(k).data(), vt.size()) != 0;
		});
		REQUIRE(wrong_values == 0);
	}

	test::write_path& wp;
	btree_value_type vt;
	btree_info info;
	block_address root;
	int max_depth = 0;
};

// Returns the deepest the tree got and how many steps had a shared copy.
std::pair<int, unsigned> random_workload(uint32_t value_size, unsigned steps, uint64_t key_space, unsigned seed,
                                        unsigned insert_percent)
{
	unsigned shared_steps = 0;
	test::write_path wp(2048);
	tree_under_test t(wp, value_size);
	std::map<uint64_t, std::vector<uint8_t>> model, snap_model;
	block_address snap_root = 0;
	std::mt19937_64 rng(seed);
	uint32_t version = 0;

	for (unsigned step = 0; step < steps; ++step) {
		INFO("step " << step);
		unsigned what = rng() % 100;
		uint64_t key = rng() % key_space;
		if (what < insert_percent || model.empty()) {
			auto v = make_value(value_size, key, ++version);
			bool inserted = false;
			t.root = btree_insert(t.info, t.root, {&key, 1}, v.data(), &inserted);
			REQUIRE(inserted == !model.count(key));
			model[key] = v;
		} else if (what < 95) {
			auto it = model.lower_bound(key);
			if (it == model.end())
				it = model.begin();
			key = it->first;
			t.root = btree_remove(t.info, t.root, {&key, 1});
			model.erase(it);
		} else if (what < 97) {
			uint64_t begin = key, end = key + rng() % 40, removed = 0;
			t.root = btree_remove_leaves(t.info, t.root, {&begin, 1}, end, removed);
			uint64_t expect = 0;
			for (auto it = model.lower_bound(key); it != model.end() && it->first == key + expect && it->first < end;)
				it = model.erase(it), ++expect;
			REQUIRE(removed == expect);
		} else if (what < 99) {
			test::commit(wp);
		} else if (!snap_root) {
			// Share the whole tree: later changes copy nodes on write.
			wp.tm.inc(t.root);
			snap_root = t.root;
			snap_model = model;
		} else {
			btree_del(t.info, snap_root);
			snap_root = 0;
		}
		t.check(model, t.root);
		uint8_t v[4096];
		uint64_t probe = rng() % key_space;
		REQUIRE(btree_lookup(t.info, t.root, {&probe, 1}, v) == (model.count(probe) != 0));
		if (snap_root) {
			++shared_steps;
			t.check(snap_model, snap_root);
			test::check_metadata_counts(wp, {t.root, snap_root});
		} else {
			test::check_metadata_counts(wp, {t.root});
		}
	}
	return {t.max_depth, shared_steps};
}

}

TEST_CASE("random inserts and removes keep a b-tree equal to a map model", "[btree]")
{
	SECTION("8-byte values, 252 a leaf")
	{
		auto [depth, shared] = random_workload(8, 1500, 4000, 1, 60);
		CHECK(depth == 1);
		CHECK(shared > 100);
	}
	SECTION("500-byte values, 6 a leaf: three levels and internal rebalancing")
	{
		auto [depth, shared] = random_workload(500, 4000, 20000, 2, 75);
		CHECK(depth == 2);
		CHECK(shared > 100);
	}
}

TEST_CASE("a full root is split beneath into two halves", "[btree]")
{
	test::write_path wp(1024);
	tree_under_test t(wp, 8);
	std::map<uint64_t, std::vector<uint8_t>> model;
	for (uint64_t k = 0; k < 253; ++k) {
		auto v = make_value(8, k, 1);
		t.root = btree_insert(t.info, t.root, {&k, 1}, v.data());
		model[k] = v;
	}
	block_handle h = wp.tm.read(t.root, block_kind::btree_node);
	node_view root(h.data());
	REQUIRE(root.is_internal());
	REQUIRE(root.nr_entries() == 2);
	REQUIRE(root.max_entries() == 252);
	block_handle l = wp.tm.read(root.value64(0), block_kind::btree_node);
	block_handle r = wp.tm.read(root.value64(1), block_kind::btree_node);
	CHECK(node_view(l.data()).nr_entries() == 126);
	CHECK(node_view(r.data()).nr_entries() == 127);
	CHECK(root.key(1) == 126);
	t.check(model, t.root);
}

TEST_CASE("overwriting a value releases the old one unless equal", "[btree]")
{
	struct counting_type : btree_value_type {
		counting_type() : btree_value_type(8) {}
		void dec(const uint8_t* values, uint32_t count) override
		{
			for (uint32_t i = 0; i < count; ++i)
				released.push_back(load_le64(values + 8 * i));
		}
		bool equal(const uint8_t* a, const uint8_t* b) const override { return std::memcmp(a, b, 8) == 0; }
		std::vector<uint64_t> released;
	} vt;
	test::write_path wp(512);
	btree_info info{&wp.tm, 1, &vt};
	block_address root = btree_empty(info);
	uint64_t key = 5;
	uint8_t v[8];
	store_le64(v, 100);
	bool inserted = false;
	root = btree_insert(info, root, {&key, 1}, v, &inserted);
	CHECK(inserted);
	root = btree_insert(info, root, {&key, 1}, v, &inserted);
	CHECK_FALSE(inserted);
	CHECK(vt.released.empty());
	store_le64(v, 200);
	root = btree_insert(info, root, {&key, 1}, v);
	CHECK(vt.released == std::vector<uint64_t>{100});
	root = btree_remove(info, root, {&key, 1});
	CHECK(vt.released == std::vector<uint64_t>{100, 200});
	CHECK_THROWS(btree_remove(info, root, {&key, 1}));
}

TEST_CASE("two-level keys: upper levels hold subtree roots", "[btree]")
{
	test::write_path wp(1024);
	btree_value_type vt(8);
	btree_info info{&wp.tm, 2, &vt};
	block_address root = btree_empty(info);
	for (uint64_t dev : {3, 1, 2})
		for (uint64_t b = 0; b < 300; ++b) {
			uint64_t keys[2] = {dev, b};
			uint8_t v[8];
			store_le64(v, dev * 1000 + b);
			root = btree_insert(info, root, keys, v);
		}
	uint64_t keys[2] = {2, 299};
	uint8_t v[8];
	REQUIRE(btree_lookup(info, root, keys, v));
	CHECK(load_le64(v) == 2299);
	keys[0] = 4;
	CHECK_FALSE(btree_lookup(info, root, keys, v));
	uint64_t next = 0;
	uint64_t from[2] = {1, 150};
	REQUIRE(btree_lookup_next(info, root, from, next, v));
	CHECK(next == 150);
	uint64_t highest[2];
	CHECK(btree_find_highest_key(info, root, highest) == 2);
	CHECK(highest[0] == 3);
	CHECK(highest[1] == 299);

	test::metadata_counts counts(wp.tm);
	counts.add(0);
	counts.add_space_map(wp.sm.core(), true);
	counts.add_tree(root, 2);
	counts.check(wp.sm);

	keys[0] = 1;
	keys[1] = 7;
	root = btree_remove(info, root, keys);
	CHECK_FALSE(btree_lookup(info, root, keys, v));
	btree_del(info, root);
	test::check_metadata_counts(wp, {});
}
