// Builds b-trees bottom-up from entries given in ascending key order, as
// restore and repair do: leaves are packed full, each level above is built
// while the one below is still growing, and the last two nodes of every level
// are evened out, so every node but the root holds at least a third of its
// capacity (spec §3.3). Memory stays at two nodes per level whatever the
// tree's size. A leaf written earlier for another tree can be reused whole,
// which is how trees come to share leaves; a reused leaf that would leave a
// node underfull is copied into a new leaf instead.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "io/block.h"
#include "pdata/bulk_block_writer.h"

namespace thinmeta::pdata {

// A node already written, as its parent (or a tree reusing it) sees it.
struct built_node {
	block_address block = 0;
	uint64_t first_key = 0;
	uint64_t last_key = 0;
	uint32_t nr_entries = 0;
};

// Told about every value copied out of a reused leaf into a new one: the
// copy is one more reference to whatever the value refers to (a data block).
class value_references {
public:
	virtual ~value_references() = default;
	virtual void copied(const uint8_t* value) = 0;
};

// Where a level hands the nodes it has finished.
class node_sink {
public:
	virtual ~node_sink() = default;
	virtual void add(const built_node& node) = 0;
};

// One level of a tree under construction: entries (or whole nodes of the
// level, reused) go in in key order, finished nodes come out to `up`.
// Internal levels add a reference to each child as they write it.
class btree_level {
public:
	btree_level(bulk_block_writer& out, uint32_t flags, uint32_t value_size, value_references* refs, node_sink& up);

	void push(uint64_t key, const uint8_t* value);
	// Reuses a node written before; its keys must follow every key so far.
	void push_node(const built_node& node);
	// Writes what is still pending.
	void finish();

	// Nodes handed up so far, and the last of them.
	uint64_t nr_nodes() const { return nr_nodes_; }
	const built_node& last_node() const { return last_node_; }
	uint32_t max_entries() const { return max_; }
	uint32_t min_entries() const { return min_; }

private:
	using node_buffer = std::array<uint8_t, block_size>;

	uint32_t pending() const { return (has_prev_ ? max_ : 0) + cur_n_; }
	void check_order(uint64_t key) const;
	void append(uint64_t key, const uint8_t* value);
	void absorb(const built_node& node);
	void settle_held();
	void unshare_small_held();
	void flush_pending();
	void write_node(node_buffer& node, uint32_t n);
	void hand_up(const built_node& node);
	void reset_node(node_buffer& node);

	bulk_block_writer& out_;
	uint32_t flags_;
	uint32_t value_size_;
	uint32_t max_;
	uint32_t min_;
	value_references* refs_;
	node_sink& up_;

	std::unique_ptr<node_buffer> prev_;  // a full node held back so the last two can be evened out
	std::unique_ptr<node_buffer> cur_;   // the node being filled
	std::unique_ptr<node_buffer> scratch_;
	bool has_prev_ = false;
	uint32_t cur_n_ = 0;
	// A reused node not yet handed up: it waits until enough entries follow
	// it (or the level ends) to be sure no neighbour of it is left underfull.
	// One with fewer than min_ entries is only held while it is all the
	// level has: it can be a root, nothing else.
	std::optional<built_node> held_;
	std::optional<uint64_t> last_key_;
	uint64_t nr_nodes_ = 0;
	built_node last_node_;
};

// A whole tree: a leaf level and as many internal levels as it needs.
class btree_builder {
public:
	btree_builder(bulk_block_writer& out, uint32_t value_size, value_references* refs = nullptr);
	~btree_builder();

	void push(uint64_t key, const uint8_t* value) { leaves_.push(key, value); }
	void push_leaf(const built_node& leaf) { leaves_.push_node(leaf); }
	// Ends the tree and returns its root (an empty leaf for an empty tree).
	// The caller adds the reference to the root.
	block_address finish();

private:
	struct link final : node_sink {
		link(btree_builder& b, size_t level) : builder(b), level(level) {}
		void add(const built_node& node) override;
		btree_builder& builder;
		size_t level;
	};

	btree_level& parent_of(size_t level);

	bulk_block_writer& out_;
	uint32_t value_size_;
	std::vector<std::unique_ptr<link>> links_;
	btree_level leaves_;
	std::vector<std::unique_ptr<btree_level>> internal_;  // internal_[0] is the level above the leaves
};

// Packs entries into a run of leaves and builds nothing above them: the
// leaves that trees then reuse with push_leaf (a shared leaf set, such as
// a <def> of the XML format).
class leaf_run_builder final : node_sink {
public:
	leaf_run_builder(bulk_block_writer& out, uint32_t value_size, value_references* refs = nullptr);

	void push(uint64_t key, const uint8_t* value) { level_.push(key, value); }
	void push_leaf(const built_node& leaf) { level_.push_node(leaf); }
	// The leaves, in key order; none for no entries.
	std::vector<built_node> finish();

private:
	void add(const built_node& node) override { leaves_.push_back(node); }

	std::vector<built_node> leaves_;
	btree_level level_;
};

// Writes a leaf with no entries (the root of an empty tree) and returns it.
block_address write_empty_leaf(bulk_block_writer& out, uint32_t value_size);

}
