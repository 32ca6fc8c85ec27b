#include <catch2/catch.hpp>

#include "io/aligned_buffer.h"
#include "pdata/block_checksum.h"
#include "pdata/btree_node.h"
#include "pdata/node_check.h"

using namespace thinmeta;
using namespace thinmeta::pdata;

namespace {
// A sealed leaf at block 9 with keys 10, 20, 30 and 8-byte values.
void make_leaf(uint8_t* block)
{
	node_mut n(block);
	n.init(leaf_node, 8, 9);
	n.set_nr_entries(3);
	for (uint32_t i = 0; i < 3; ++i) {
		n.set_key(i, 10 * (i + 1));
		n.set_value64(i, 100 + i);
	}
	n.seal();
}
}

TEST_CASE("capacity follows the kernel's multiple-of-three rule", "[btree_node]")
{
	CHECK(max_entries_for(4) == 336);
	CHECK(max_entries_for(8) == 252);
	CHECK(max_entries_for(16) == 168);
	CHECK(max_entries_for(24) == 126);
	CHECK(min_entries_for(252) == 84);
}

TEST_CASE("node_view reads what node_mut wrote, at the spec's offsets", "[btree_node]")
{
	io::aligned_buffer buf(1, true);
	make_leaf(buf.data());
	node_view n(buf.data());
	CHECK(n.is_leaf());
	CHECK_FALSE(n.is_internal());
	CHECK(n.location() == 9);
	CHECK(n.nr_entries() == 3);
	CHECK(n.max_entries() == 252);
	CHECK(n.key(2) == 30);
	CHECK(n.value64(1) == 101);
	CHECK(n.value(0) == buf.data() + 32 + 8 * 252);
	CHECK(n.lower_bound(5) == -1);
	CHECK(n.lower_bound(10) == 0);
	CHECK(n.lower_bound(29) == 1);
	CHECK(n.lower_bound(1000) == 2);
	CHECK(identify_block(buf.data()) == block_kind::btree_node);
}

TEST_CASE("check_node accepts a sound node and names each fault", "[node_check]")
{
	io::aligned_buffer buf(1, true);
	uint8_t* b = buf.data();
	make_leaf(b);
	CHECK(check_node(b, 9, 8).empty());

	SECTION("checksum")
	{
		b[500] ^= 1;
		CHECK(check_node(b, 9, 8) == "bad checksum");
	}
	SECTION("location")
	{
		CHECK(check_node(b, 10, 8) == "the node says it is block 9");
	}
	SECTION("value size of the tree")
	{
		CHECK(check_node(b, 9, 24) == "leaf node has 8-byte values, expected 24");
	}
	SECTION("flags")
	{
		node_mut(b).set_flags(3);
		seal_block(b, block_kind::btree_node);
		CHECK(check_node(b, 9, 8) == "bad flags 3 (a node is either internal, 1, or a leaf, 2)");
	}
	SECTION("max_entries not a multiple of three")
	{
		node_mut(b).set_max_entries(250);
		seal_block(b, block_kind::btree_node);
		CHECK(check_node(b, 9, 8) == "max_entries 250 is not a multiple of 3");
	}
	SECTION("too many entries")
	{
		node_mut(b).set_nr_entries(253);
		seal_block(b, block_kind::btree_node);
		CHECK(check_node(b, 9, 8) == "nr_entries 253 exceeds max_entries 252");
	}
	SECTION("keys out of order")
	{
		node_mut(b).set_key(1, 5);
		seal_block(b, block_kind::btree_node);
		CHECK(check_node(b, 9, 8) == "keys out of order: key 5 at index 1 follows 10");
	}
	SECTION("another kind of block")
	{
		seal_block(b, block_kind::bitmap);
		CHECK(check_node(b, 9, 8) == "expected a b-tree node but found a space map bitmap");
	}
}
