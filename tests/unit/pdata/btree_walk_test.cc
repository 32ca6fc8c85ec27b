#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "io/aligned_buffer.h"
#include "io/block_device.h"
#include "pdata/btree_leaves.h"
#include "pdata/btree_node.h"
#include "pdata/btree_walk.h"
#include "support/temp_file.h"

using namespace thinmeta;
using namespace thinmeta::pdata;

namespace {

// Writes sealed nodes into a small image: a leaf holds keys [first, first+n)
// with value = key * 10; an internal node points at children.
class tree_image {
public:
	explicit tree_image(const std::string& path, uint64_t nr_blocks)
	    : dev_(io::block_device::create_file(path, nr_blocks)), buf_(1)
	{
	}

	void leaf(block_address where, uint64_t first, uint32_t n)
	{
		node_mut m(buf_.data());
		m.init(leaf_node, 8, where);
		m.set_nr_entries(n);
		for (uint32_t i = 0; i < n; ++i) {
			m.set_key(i, first + i);
			m.set_value64(i, (first + i) * 10);
		}
		m.seal();
		dev_.write_block(where, buf_.data());
	}

	void internal(block_address where, const std::vector<std::pair<uint64_t, block_address>>& children)
	{
		node_mut m(buf_.data());
		m.init(internal_node, 8, where);
		m.set_nr_entries(static_cast<uint32_t>(children.size()));
		for (uint32_t i = 0; i < children.size(); ++i) {
			m.set_key(i, children[i].first);
			m.set_value64(i, children[i].second);
		}
		m.seal();
		dev_.write_block(where, buf_.data());
	}

	void corrupt(block_address where)
	{
		dev_.read_block(where, buf_.data());
		buf_.data()[300] ^= 1;
		dev_.write_block(where, buf_.data());
	}

	const io::block_device& dev() const { return dev_; }

private:
	io::block_device dev_;
	io::aligned_buffer buf_;
};

struct recording_visitor : btree_visitor {
	std::vector<uint64_t> keys;
	std::vector<std::string> damage;
	bool visit(block_address, const node_view& n, const key_range&) override
	{
		if (n.is_leaf())
			for (uint32_t i = 0; i < n.nr_entries(); ++i) {
				CHECK(n.value64(i) == n.key(i) * 10);
				keys.push_back(n.key(i));
			}
		return true;
	}
	void damaged(block_address b, const key_range& r, const std::string& what) override
	{
		damage.push_back(std::to_string(b) + " " + r.describe() + " " + what);
	}
};

std::vector<uint64_t> iota_keys(uint64_t first, uint64_t n)
{
	std::vector<uint64_t> v;
	for (uint64_t i = 0; i < n; ++i)
		v.push_back(first + i);
	return v;
}

}

TEST_CASE("the walker visits leaves in key order whatever their block order", "[btree_walk]")
{
	test::temp_dir dir;
	tree_image img(dir.file("img"), 16);
	img.leaf(9, 0, 100);
	img.leaf(3, 100, 100);
	img.leaf(12, 200, 100);
	img.internal(5, {{0, 9}, {100, 3}, {200, 12}});

	recording_visitor v;
	btree_walker(img.dev(), 8).walk(5, v);
	CHECK(v.damage.empty());
	CHECK(v.keys == iota_keys(0, 300));
}

TEST_CASE("damage is reported with the keys it loses, and the walk goes on", "[btree_walk]")
{
	test::temp_dir dir;
	tree_image img(dir.file("img"), 16);
	img.leaf(9, 0, 100);
	img.leaf(3, 100, 100);
	img.leaf(12, 200, 100);
	img.internal(5, {{0, 9}, {100, 3}, {200, 12}});

	SECTION("a corrupt leaf")
	{
		img.corrupt(3);
		recording_visitor v;
		btree_walker(img.dev(), 8).walk(5, v);
		REQUIRE(v.damage == std::vector<std::string>{"3 [100, 200) bad checksum"});
		auto want = iota_keys(0, 100);
		auto tail = iota_keys(200, 100);
		want.insert(want.end(), tail.begin(), tail.end());
		CHECK(v.keys == want);
	}
	SECTION("a child past the end of the device")
	{
		img.internal(5, {{0, 9}, {100, 99}, {200, 12}});
		recording_visitor v;
		btree_walker(img.dev(), 8).walk(5, v);
		CHECK(v.damage ==
		      std::vector<std::string>{"99 [100, 200) block 99 is past the end of the metadata (16 blocks)"});
	}
	SECTION("a cycle")
	{
		img.internal(5, {{0, 9}, {100, 5}, {200, 12}});
		recording_visitor v;
		btree_walker(img.dev(), 8).walk(5, v);
		CHECK(v.damage == std::vector<std::string>{
		                      "5 [100, 200) block 5 points back to its own ancestor: the tree has a cycle"});
	}
	SECTION("a child whose keys fall outside its parent's range")
	{
		img.leaf(3, 150, 100);
		recording_visitor v;
		btree_walker(img.dev(), 8).walk(5, v);
		CHECK(v.damage == std::vector<std::string>{
		                      "3 [100, 200) last key 249 is not below the next parent key 200"});
	}
	SECTION("the strict visitor stops at the first damage")
	{
		img.corrupt(12);
		struct strict : strict_btree_visitor {
			strict() : strict_btree_visitor("test tree") {}
			bool visit(block_address, const node_view&, const key_range&) override { return true; }
		} v;
		REQUIRE_THROWS_WITH(btree_walker(img.dev(), 8).walk(5, v),
		                    "test tree: block 12 (keys [200, end)): bad checksum");
	}
}

TEST_CASE("leaf_blocks lists the leaves in key order without reading them", "[btree_leaves]")
{
	test::temp_dir dir;
	tree_image img(dir.file("img"), 32);
	img.leaf(20, 0, 10);
	img.leaf(4, 10, 10);
	img.leaf(17, 20, 10);
	img.leaf(8, 30, 10);
	img.leaf(11, 40, 10);
	img.internal(6, {{0, 20}, {10, 4}});
	img.internal(2, {{20, 17}, {30, 8}, {40, 11}});
	img.internal(25, {{0, 6}, {20, 2}});

	CHECK(leftmost_leaf_depth(img.dev(), 25, 8) == 2u);
	CHECK(leftmost_leaf_depth(img.dev(), 20, 8) == 0u);
	CHECK(leaf_blocks(img.dev(), 25, 8) == std::vector<block_address>{20, 4, 17, 8, 11});
	CHECK(leaf_blocks(img.dev(), 20, 8) == std::vector<block_address>{20});

	// A damaged leaf off the leftmost path is never read.
	img.corrupt(8);
	CHECK(leaf_blocks(img.dev(), 25, 8) == std::vector<block_address>{20, 4, 17, 8, 11});
	// A damaged internal node is refused, by block.
	img.corrupt(2);
	CHECK_THROWS_WITH(leaf_blocks(img.dev(), 25, 8), Catch::Contains("block 2 "));
	img.corrupt(6);
	CHECK_FALSE(leftmost_leaf_depth(img.dev(), 25, 8).has_value());
	CHECK_FALSE(leftmost_leaf_depth(img.dev(), 40, 8).has_value());  // past the end
}
