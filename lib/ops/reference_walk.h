// The breadth-first walk at the heart of thin_check. It visits every b-tree
// reachable from the superblock(s) one level at a time, reading each level's
// nodes in block order with large batched reads; validates each node where
// it stands (checksum, location, shape, key bounds from its parent,
// occupancy, depth); counts every reference to every metadata block and
// every leaf reference to every data block, or only fingerprints the latter
// (see data_tally); and keeps what the later stages need: device details,
// mapping roots, per-device mapping counts, the data space map's index
// entries and fingerprints of the ref-count trees.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/multiset_fingerprint.h"
#include "base/pod_vector.h"
#include "base/progress.h"
#include "io/aligned_buffer.h"
#include "io/block_device.h"
#include "io/read_ahead.h"
#include "ops/check_findings.h"
#include "ops/overflow_references.h"
#include "ops/ref_count_summary.h"
#include "pdata/btree_node.h"
#include "pdata/key_range.h"
#include "pdata/ref_count_batch.h"
#include "pdata/ref_counter.h"
#include "pdata/space_map_disk.h"
#include "thin/device_details.h"

namespace thinmeta::ops {

enum class tree_kind : uint8_t {
	none = 0,
	details,
	mapping_top,
	mapping_bottom,
	data_index,
	data_ref_counts,
	metadata_ref_counts,
};

// How the walk tallies the data blocks the mappings refer to. A count per
// block names each block the data space map has wrong, but takes half a
// byte a block and a scattered increment per mapping (a third of a check's
// time on 4 GiB of metadata); a fingerprint of all the references takes
// neither and tells only whether the space map agrees. A check fingerprints
// first and counts on a second walk only when they disagree.
enum class data_tally : uint8_t {
	counts,
	fingerprint,
};

struct walked_device {
	uint64_t id = 0;
	block_address root = 0;
	uint32_t owner = 0;
};

struct walked_details {
	uint64_t id = 0;
	thin::device_details details;
};

class reference_walk {
public:
	reference_walk(const io::block_device& dev, uint64_t nr_metadata_blocks, uint64_t nr_data_blocks,
	               check_findings& findings, data_tally tally);

	// Counts a reference to a metadata block from outside any tree (a
	// superblock field, an index entry). False when it points nowhere valid.
	bool count_reference(block_address b, const std::string& from);
	// Queues the root of a tree for the walk; the reference to it is counted.
	void add_tree(block_address root, tree_kind kind, bool in_snapshot);
	// Walk the mapping trees' top levels only.
	void skip_bottom_trees(bool skip) { skip_bottom_ = skip; }

	void run(progress_sink& progress, uint64_t expected_blocks);

	const pdata::ref_counter& metadata_counts() const { return md_counts_; }
	// data_tally::counts only.
	const pdata::ref_counter& data_counts() const { return data_counts_; }
	// data_tally::fingerprint only: every data block a mapping refers to (as
	// often as distinct leaves map it), and the data space map's
	// ref-count tree as references.
	const multiset_fingerprint& data_references() const { return data_references_; }
	const overflow_references& data_overflow() const { return data_overflow_; }
	// Devices of the top level / the details tree, sorted by id.
	std::vector<walked_device> devices(bool in_snapshot) const;
	std::vector<walked_details> details(bool in_snapshot) const;
	// Mappings in a device's tree; nullopt if part of the tree is unreadable.
	std::optional<uint64_t> mapping_count(const walked_device& d);
	// The data space map's index entries by bitmap number (blocknr 0 where
	// the index had no entry).
	const std::vector<pdata::index_entry>& data_bitmaps() const { return data_bitmaps_; }
	// The fingerprint of the (block, count) entries in a ref-count tree's
	// leaves (metadata_ref_counts, and data_ref_counts where the data
	// blocks are counted).
	const ref_count_summary& ref_counts(tree_kind kind) const
	{
		return ref_summaries_[kind == tree_kind::metadata_ref_counts];
	}
	bool trees_damaged() const { return trees_damaged_; }

private:
	// A reference to a node from its parent (or to a tree's root), with the
	// keys the parent allows it. A level of leaves holds millions of them:
	// 24 bytes each (4 GiB of metadata: 1.4 million in the level of leaves).
	struct node_ref {
		uint64_t begin;
		uint64_t end;    // the parent's next key; 0 for none (a sound parent's keys ascend from 0)
		uint32_t block;  // blocks past the end are reported where found, never queued
		uint32_t owner : 26;
		uint32_t depth : 6;  // 0 for a root

		bool is_root() const { return depth == 0; }
		bool has_end() const { return end != 0; }
	};
	static_assert(sizeof(node_ref) == 24);
	static constexpr uint32_t max_owners = uint32_t(1) << 26;
	static constexpr unsigned max_depth = (1u << 6) - 1;
	struct tree_owner {
		tree_kind kind;
		bool in_snapshot;
		uint64_t dev_id;  // mapping_bottom only
		uint8_t leaf_depth = 0xFF;
		// Where the leaves are expected before the walk reaches them (a
		// ref-count tree's), so that they wait for the mapping leaves.
		uint8_t held_depth = 0xFF;
	};

	uint32_t new_owner(tree_kind kind, bool in_snapshot, uint64_t dev_id = 0);
	// Queues the node at block b for the next level (`to`), or reports the
	// reference at once when b is past the end of the metadata or the node
	// would lie deeper than any b-tree reaches.
	void enqueue(pod_vector<node_ref>& to, block_address b, uint32_t owner, unsigned depth, uint64_t begin,
	             uint64_t end);
	std::string owner_name(uint32_t owner) const;
	pdata::key_range range_of(const node_ref& r) const;
	// Blocks from here on are past the end of the metadata.
	uint64_t metadata_limit() const;
	// A block of a level to read, with its references: level[first_ref, end_ref).
	struct to_visit {
		size_t first_ref;
		size_t end_ref;
		uint32_t value_size;
		tree_kind kind;
	};
	void hold_ref_count_leaves();
	void hold_or_release(pod_vector<node_ref>& level);
	void process_level(pod_vector<node_ref>& level, pod_vector<node_ref>& next, progress_sink& progress);
	void read_slice(const pod_vector<node_ref>& level, const std::vector<block_address>& blocks,
	                const std::vector<to_visit>& visits, pod_vector<node_ref>& next, progress_sink& progress);
	// `fault` is what validation found wrong with the node, empty if sound.
	// `data_tallied`: a mapping leaf whose data blocks a reading thread has
	// fingerprinted already.
	void visit(const uint8_t* block, const node_ref* refs, size_t nr, pod_vector<node_ref>& next,
	           const std::string& fault, bool data_tallied);
	void revisit(const node_ref* refs, size_t nr);
	void visit_leaf(const pdata::node_view& n, const node_ref& r, pod_vector<node_ref>& next, bool data_tallied);
	// Counts the data blocks of a mapping leaf's entries from `first` on,
	// up to the first that points past the end of the data device; returns
	// that entry's index, or the number of entries.
	uint32_t count_data_blocks(const pdata::node_view& n, uint32_t first);
	// The same, adding them to data_references_ (for leaves the reading
	// threads left to this one).
	uint32_t fingerprint_data_blocks(const pdata::node_view& n, uint32_t first);
	void node_damaged(const node_ref& r, const std::string& what, severity s = severity::fatal)
	{
		node_damaged(r.block, r.owner, range_of(r), what, s);
	}
	void node_damaged(block_address b, uint32_t owner, const pdata::key_range& keys, const std::string& what,
	                  severity s = severity::fatal);
	void check_deferred_bounds();
	std::string check_bounds(const pdata::node_view& n, const node_ref& r) const;

	const io::block_device& dev_;
	uint64_t nr_metadata_blocks_;
	uint64_t nr_data_blocks_;
	check_findings& findings_;
	bool skip_bottom_ = false;
	bool trees_damaged_ = false;

	std::vector<tree_owner> owners_;
	pod_vector<node_ref> pending_;
	// Ref-count tree leaves waiting to be read with a larger level.
	pod_vector<node_ref> held_;
	std::vector<node_ref> deferred_bounds_;

	pdata::ref_counter md_counts_;
	pod_vector<uint8_t> visited_kind_;
	pod_vector<uint32_t> visited_owner_;
	std::unordered_set<block_address> damaged_;
	data_tally data_tally_;
	pdata::ref_counter data_counts_;
	pdata::ref_count_batch data_increments_{data_counts_};
	multiset_fingerprint data_references_;
	overflow_references data_overflow_;

	// What totals each device's mappings without walking shared subtrees
	// twice: entries + 1 of each sound bottom-tree leaf (0 for other
	// blocks), and each bottom-tree internal node's children with the
	// subtree's total once computed.
	struct bottom_internal {
		size_t first_child;  // into child_list_
		uint32_t nr_children;
		uint64_t mappings;
	};
	uint64_t known_mappings(block_address b) const;
	pod_vector<uint8_t> leaf_entries_;
	std::unordered_map<block_address, bottom_internal> bottom_internal_;
	// Child pointers past 32 bits (damage) are kept as no_block: never
	// read, so their subtree's count is unknown.
	static constexpr uint32_t no_block = UINT32_MAX;
	pod_vector<uint32_t> child_list_;

	// The device details and top-level trees are small and may be shared
	// between the live metadata and the metadata snapshot, so their shape is
	// kept to list each root's entries even where a node was visited once.
	struct small_node {
		tree_kind kind;
		bool leaf;
		size_t first;  // into small_children_, details_ or devices_
		size_t count;
	};
	template <typename Entry>
	std::vector<Entry> entries_under(tree_kind kind, bool in_snapshot, const std::vector<Entry>& all) const;
	std::unordered_map<block_address, small_node> small_nodes_;
	std::vector<block_address> small_children_;
	std::vector<std::pair<uint32_t, block_address>> small_roots_;  // owner, root
	std::vector<walked_device> devices_;
	std::vector<walked_details> details_;
	std::vector<pdata::index_entry> data_bitmaps_;
	ref_count_summary ref_summaries_[2];  // data, metadata

	io::read_ahead_buffers read_buffers_;  // kept from slice to slice
	io::aligned_buffer buffer_;            // for re-reading shared nodes
	uint64_t blocks_read_ = 0;
};

}
