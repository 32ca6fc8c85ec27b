// internal_forest on a pool's metadata: each distinct leaf handed out once,
// in block order within a slice, with the device of its parent and whether
// devices share it; the paths reaching each block; the internal nodes and
// their children; the leaves a caller chooses, and only those.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <vector>

#include "pdata/btree_node.h"
#include "pdata/scratch_image.h"
#include "thin/block_time.h"
#include "thin/internal_forest.h"
#include "thin/mapping_forest.h"
#include "thin/metadata_reader.h"
#include "forest_pool.h"

using namespace thinmeta;
using namespace thinmeta::thin;

TEST_CASE("internal_forest reads each distinct leaf once and knows which devices share it", "[internal_forest]")
{
	test::scratch_image image(4096);
	const test::forest_pool want = test::write_forest_pool(*image.dev);

	metadata_reader md({image.path, false, std::nullopt});
	std::vector<thin_device> devices = md.devices();
	REQUIRE(devices.size() == 4);
	internal_forest forest(md.device(), devices);
	// mapping_forest keeps each leaf's record, found through each device's
	// tree: what internal_forest must agree with.
	mapping_forest leaves(md.device(), devices);
	std::map<block_address, mapping_forest::leaf> by_block;
	for (size_t i = 0; i < leaves.nr_leaves(); ++i)
		by_block[leaves.leaf_at(i).block] = leaves.leaf_at(i);
	REQUIRE(by_block.size() > 10);

	std::vector<block_address> visited;
	std::map<block_address, internal_forest::leaf> in_parents_order;
	std::map<uint64_t, std::multiset<uint64_t>> data_by_key;  // of every distinct leaf
	forest.read_leaves({}, [&](const internal_forest::leaf& l, const pdata::node_view& n) {
		visited.push_back(l.block);
		in_parents_order[l.block] = l;
		REQUIRE(by_block.count(l.block));
		const mapping_forest::leaf& expected = by_block[l.block];
		CHECK(l.shared == expected.shared);
		CHECK(forest.leaf_paths(l.block) == (expected.shared ? 2u : 1u));
		if (!l.shared)
			CHECK(l.device == expected.device);
		for (uint32_t e = 0; e < n.nr_entries(); ++e)
			data_by_key[n.key(e)].insert(block_time::unpack(n.value64(e)).block);
	});
	// Fewer leaves than a slice: one slice, so in block order throughout.
	std::vector<block_address> expected_blocks;
	for (auto& [b, l] : by_block)
		expected_blocks.push_back(b);
	CHECK(visited == expected_blocks);

	// Every mapping of every device is in some leaf read, once per
	// distinct leaf: a shared leaf's mappings are not repeated.
	std::map<uint64_t, std::set<uint64_t>> all;
	for (auto& [id, maps] : want)
		for (auto [v, data] : maps)
			all[v].insert(data);
	std::map<uint64_t, std::set<uint64_t>> read;
	for (auto& [v, datas] : data_by_key)
		read[v].insert(datas.begin(), datas.end());
	CHECK(read == all);

	// Blocks that are no leaf: the superblock and the internal nodes.
	CHECK(forest.leaf_paths(0) == 0);
	size_t bottom = 0, upper = 0;
	for (size_t i = 0; i < forest.nr_nodes(); ++i) {
		const internal_forest::node& x = forest.node_at(i);
		CHECK(forest.leaf_paths(x.block) == 0);
		CHECK(x.height >= 1);
		if (x.height == 1) {
			++bottom;
			CHECK(forest.children(i).empty());
		} else {
			++upper;
			for (uint32_t c : forest.children(i))
				CHECK(forest.node_at(c).height == x.height - 1);
		}
	}
	size_t bottom_read = 0;
	forest.read_bottom_nodes([&](size_t i, const pdata::node_view& n) {
		++bottom_read;
		CHECK(forest.node_at(i).height == 1);
		CHECK(n.is_internal());
		for (uint32_t c = 0; c < n.nr_entries(); ++c)
			CHECK(forest.leaf_paths(n.child(c)) > 0);
	});
	CHECK(bottom_read == bottom);
	CHECK(bottom >= 2);  // devices 7 and 9 each have a root of height 1

	// Roots: devices 3 and 4 are one leaf each, 7 and 9 an internal node.
	for (size_t d = 0; d < devices.size(); ++d) {
		auto root = forest.root_of(d);
		bool small = devices[d].id == 3 || devices[d].id == 4;
		CHECK(root.leaf == small);
		if (root.leaf)
			CHECK(root.value == devices[d].mapping_root);
		else
			CHECK(forest.node_at(root.value).block == devices[d].mapping_root);
	}

	// A chosen subset is read, and only it, each once.
	std::vector<block_address> chosen;
	forest.read_leaves([](block_address b) { return b % 3 == 1; },
	                   [&](const internal_forest::leaf& l, const pdata::node_view&) { chosen.push_back(l.block); });
	std::vector<block_address> expected_chosen;
	for (block_address b : expected_blocks)
		if (b % 3 == 1)
			expected_chosen.push_back(b);
	CHECK(chosen == expected_chosen);

	// In block order, a window of blocks at a time: the same leaves, each
	// once with the same device and sharing, ascending throughout, however
	// the windows cut them.
	using order = internal_forest::leaf_order;
	for (size_t window : {size_t(1), size_t(5), internal_forest::min_window_leaves}) {
		INFO("windows of at least " << window << " leaves");
		std::vector<block_address> in_order;
		forest.read_leaves({}, [&](const internal_forest::leaf& l, const pdata::node_view& n) {
			in_order.push_back(l.block);
			REQUIRE(in_parents_order.count(l.block));
			CHECK(l.device == in_parents_order[l.block].device);
			CHECK(l.shared == in_parents_order[l.block].shared);
			CHECK(n.is_leaf());
		}, order::blocks, window);
		CHECK(in_order == expected_blocks);

		std::vector<block_address> chosen_in_order;
		forest.read_leaves([](block_address b) { return b % 3 == 1; },
		                   [&](const internal_forest::leaf& l, const pdata::node_view&) { chosen_in_order.push_back(l.block); },
		                   order::blocks, window);
		CHECK(chosen_in_order == expected_chosen);
	}
}
