// A metadata device held in memory with the write path on top of it (block
// cache, transaction manager, formatted metadata space map), and checkers
// the write-path tests run after every step: b-tree invariants (key order,
// occupancy, parent keys, uniform depth) and every metadata block's
// reference count recomputed from what refers to it.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "io/block_cache.h"
#include "io/memory_block_store.h"
#include "pdata/btree.h"
#include "pdata/btree_node.h"
#include "pdata/space_map_core.h"
#include "pdata/space_map_metadata.h"
#include "pdata/transaction_manager.h"

namespace thinmeta::test {

struct write_path {
	explicit write_path(uint64_t nr_blocks, size_t cache_blocks = 1024)
	    : store(nr_blocks), cache(store, cache_blocks), tm(cache), sm(tm)
	{
		tm.set_space_map(&sm);
		pdata::metadata_space_map::create(sm, nr_blocks, 0);
	}

	io::memory_block_store store;
	io::block_cache cache;
	pdata::transaction_manager tm;
	pdata::metadata_space_map sm;
};

// Expected metadata reference counts, built up by walking what refers to
// each block.
class metadata_counts {
public:
	explicit metadata_counts(pdata::transaction_manager& tm) : tm_(tm) {}

	void add(block_address b) { ++counts_[b]; }

	// Counts a tree's nodes (shared nodes are walked once); `leaf_refs`
	// says which leaves' values are roots of further trees (one per level).
	void add_tree(block_address root, unsigned levels = 1)
	{
		add(root);
		if (!walked_.insert(root).second)
			return;
		pdata::block_handle h = tm_.read(root, pdata::block_kind::btree_node);
		pdata::node_view n(h.data());
		bool internal = n.flags() & pdata::internal_node;
		for (uint32_t i = 0; i < n.nr_entries(); ++i) {
			if (internal)
				add_tree(n.value64(i), levels);
			else if (levels > 1)
				add_tree(n.value64(i), levels - 1);
		}
	}

	// The blocks a space map keeps its own counts in.
	void add_space_map(pdata::space_map_core& core, bool metadata)
	{
		pdata::sm_root r = core.root();
		if (metadata)
			add(r.bitmap_root);
		else
			add_tree(r.bitmap_root);
		add_tree(r.ref_count_root);
		for (uint64_t i = 0; i < core.nr_bitmaps(); ++i)
			add(core.index(i).blocknr);
	}

	// Every block's count in the space map equals the expected one.
	void check(pdata::space_map& sm) const
	{
		std::ostringstream wrong;
		uint64_t allocated = 0;
		for (block_address b = 0; b < sm.nr_blocks(); ++b) {
			auto it = counts_.find(b);
			uint32_t want = it == counts_.end() ? 0 : it->second;
			uint32_t got = sm.get_count(b);
			if (got != want)
				wrong << "block " << b << ": count " << got << ", expected " << want << "\n";
			allocated += want != 0;
		}
		INFO(wrong.str());
		CHECK(wrong.str().empty());
		CHECK(sm.root().nr_allocated == allocated);
	}

private:
	pdata::transaction_manager& tm_;
	std::map<block_address, uint32_t> counts_;
	std::set<block_address> walked_;
};

// Checks the structure of a single-level tree; returns its keys in order.
// (Problems are collected and reported once: per-entry assertions would
// dominate the run time of the random tests.)
class btree_checker {
public:
	btree_checker(pdata::transaction_manager& tm, uint32_t value_size) : tm_(tm), value_size_(value_size) {}

	std::vector<uint64_t> check(block_address root)
	{
		keys_.clear();
		problems_.str("");
		leaf_depth_ = -1;
		visit(root, 0, true, 0, false, 0);
		INFO(problems_.str());
		REQUIRE(problems_.str().empty());
		return keys_;
	}
	// Levels below the root of the last tree checked.
	int depth() const { return leaf_depth_; }

private:
	void problem(block_address b, const char* what) { problems_ << "node " << b << ": " << what << "\n"; }

	void visit(block_address b, int depth, bool is_root, uint64_t lower, bool has_upper, uint64_t upper)
	{
		pdata::block_handle h = tm_.read(b, pdata::block_kind::btree_node);
		pdata::node_view n(h.data());
		bool internal = n.flags() & pdata::internal_node;
		uint32_t vs = internal ? 8 : value_size_;
		if (n.flags() != pdata::internal_node && n.flags() != pdata::leaf_node)
			return problem(b, "bad flags");
		if (n.value_size() != vs || n.max_entries() != pdata::max_entries_for(vs))
			return problem(b, "bad value size or max_entries");
		if (n.nr_entries() > n.max_entries())
			return problem(b, "too many entries");
		if (!is_root && n.nr_entries() < n.max_entries() / 3)
			problem(b, "under a third full");
		if (internal && !n.nr_entries())
			problem(b, "empty internal node");
		for (uint32_t i = 0; i < n.nr_entries(); ++i) {
			if (i && n.key(i - 1) >= n.key(i))
				problem(b, "keys out of order");
			if (n.key(i) < lower || (has_upper && n.key(i) >= upper))
				problem(b, "key outside the range its parent gives");
		}
		if (!internal) {
			if (leaf_depth_ < 0)
				leaf_depth_ = depth;
			if (depth != leaf_depth_)
				problem(b, "leaf at another depth");
			for (uint32_t i = 0; i < n.nr_entries(); ++i)
				keys_.push_back(n.key(i));
			return;
		}
		for (uint32_t i = 0; i < n.nr_entries(); ++i) {
			bool last = i + 1 == n.nr_entries();
			visit(n.value64(i), depth + 1, false, n.key(i), last ? has_upper : true,
			      last ? upper : n.key(i + 1));
		}
	}

	pdata::transaction_manager& tm_;
	uint32_t value_size_;
	std::vector<uint64_t> keys_;
	std::ostringstream problems_;
	int leaf_depth_ = -1;
};

// Commits the metadata (no superblock: these tests have none).
inline void commit(write_path& wp)
{
	wp.tm.pre_commit();
	wp.tm.commit({});
}

// Checks every metadata block's count: block 0 (the superblock's place),
// the metadata space map's own blocks, the given trees and single blocks.
inline void check_metadata_counts(write_path& wp, std::initializer_list<block_address> trees,
                                  std::initializer_list<block_address> blocks = {})
{
	metadata_counts counts(wp.tm);
	counts.add(0);
	counts.add_space_map(wp.sm.core(), true);
	for (block_address r : trees)
		counts.add_tree(r);
	for (block_address b : blocks)
		counts.add(b);
	counts.check(wp.sm);
}

}
