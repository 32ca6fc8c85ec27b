// Shadowing: in place for a block shadowed (or allocated) in this
// transaction and not shared; otherwise a copy, the original decremented,
// and when it was shared the copy's children gain a reference.
#include <catch2/catch.hpp>

#include <cstring>

#include "pdata/btree.h"
#include "write_path_fixture.h"

using namespace thinmeta;
using namespace thinmeta::pdata;

using test::commit;

TEST_CASE("a block allocated in this transaction is shadowed in place", "[transaction_manager]")
{
	test::write_path wp(256);
	block_address b;
	{
		block_handle h = wp.tm.new_block(block_kind::btree_node);
		b = h.location();
		CHECK(wp.tm.is_shadow(b));
		h.data_mut()[100] = 5;
	}
	bool inc = true;
	block_handle h = wp.tm.shadow(b, block_kind::btree_node, inc);
	CHECK(h.location() == b);
	CHECK_FALSE(inc);
	CHECK(h.data()[100] == 5);
}

TEST_CASE("after a commit a shadow is a copy and the original is released", "[transaction_manager]")
{
	test::write_path wp(256);
	block_address b;
	{
		block_handle h = wp.tm.new_block(block_kind::btree_node);
		b = h.location();
		h.data_mut()[100] = 5;
	}
	commit(wp);
	CHECK_FALSE(wp.tm.is_shadow(b));
	uint64_t writes = wp.store.nr_block_writes();
	bool inc = true;
	block_address copy;
	{
		block_handle h = wp.tm.shadow(b, block_kind::btree_node, inc);
		copy = h.location();
		CHECK(copy != b);
		CHECK_FALSE(inc);
		CHECK(h.data()[100] == 5);
		h.data_mut()[100] = 6;
	}
	CHECK(wp.sm.get_count(b) == 0);
	CHECK(wp.sm.get_count(copy) == 1);
	// Shadowing the copy again changes it in place.
	{
		block_handle h = wp.tm.shadow(copy, block_kind::btree_node, inc);
		CHECK(h.location() == copy);
	}
	// Nothing was written, and the committed original is untouched.
	CHECK(wp.store.nr_block_writes() == writes);
	CHECK(wp.store.block(b)[100] == 5);
	// The freed original is not handed out again in this transaction.
	for (int i = 0; i < 20; ++i)
		CHECK(wp.sm.new_block() != b);
}

TEST_CASE("a shared block is copied even when shadowed in this transaction", "[transaction_manager]")
{
	test::write_path wp(256);
	block_handle h = wp.tm.new_block(block_kind::btree_node);
	block_address b = h.location();
	h.release();
	wp.tm.inc(b);
	bool inc = false;
	block_handle c = wp.tm.shadow(b, block_kind::btree_node, inc);
	CHECK(inc);
	CHECK(c.location() != b);
	CHECK(wp.sm.get_count(b) == 1);
}

TEST_CASE("copying a shared b-tree node increments its children", "[transaction_manager]")
{
	test::write_path wp(1024);
	btree_value_type vt(8);
	btree_info info{&wp.tm, 1, &vt};
	block_address root = btree_empty(info);
	for (uint64_t k = 0; k < 400; ++k) {
		uint8_t v[8];
		store_le64(v, k);
		root = btree_insert(info, root, {&k, 1}, v);
	}
	commit(wp);
	block_handle r = wp.tm.read(root, block_kind::btree_node);
	node_view rn(r.data());
	REQUIRE(rn.is_internal());
	block_address left = rn.value64(0), right = rn.value64(1);
	r.release();

	// A second reference to the root: the tree is shared as a whole.
	wp.tm.inc(root);
	uint64_t k = 399;
	uint8_t v[8];
	store_le64(v, 1);
	block_address new_root = btree_insert(info, root, {&k, 1}, v);
	CHECK(new_root != root);
	CHECK(wp.sm.get_count(root) == 1);
	// The left child is now referred to by both roots; the right one was
	// copied on the way down (its copy belongs to the new root).
	CHECK(wp.sm.get_count(left) == 2);
	CHECK(wp.sm.get_count(right) == 1);
	block_handle nr = wp.tm.read(new_root, block_kind::btree_node);
	CHECK(node_view(nr.data()).value64(0) == left);
	CHECK(node_view(nr.data()).value64(1) != right);
	nr.release();

	test::check_metadata_counts(wp, {root, new_root});
}

TEST_CASE("abort forgets everything since the last commit", "[transaction_manager]")
{
	test::write_path wp(256);
	commit(wp);
	std::vector<uint8_t> before = wp.store.bytes();
	{
		block_handle h = wp.tm.new_block(block_kind::btree_node);
		h.data_mut()[50] = 1;
	}
	wp.tm.abort();
	CHECK(wp.cache.nr_cached() == 0);
	CHECK(wp.store.bytes() == before);
}
