#include "ops/delta_shared.h"

#include <algorithm>

#include "base/error.h"
#include "base/text.h"
#include "io/aligned_buffer.h"
#include "pdata/btree_node.h"
#include "pdata/btree_walk.h"
#include "thin/block_time.h"
#include "thin/mapping_node_check.h"

namespace thinmeta::ops {

namespace {

using u128 = unsigned __int128;

constexpr size_t batch_blocks = 256;

// The path from a subtree's root to its first or last leaf.
struct edge_probe {
	size_t subtree;
	bool last;
	block_address block;
	uint32_t height;
	pdata::key_range keys;
};

struct edge_keys {
	bool empty = true;
	uint64_t first = 0;
	uint64_t last = 0;
};

// Reads each subtree's leftmost and rightmost paths, one level at a time
// for all subtrees together, in sorted batches.
std::vector<edge_keys> read_edges(const io::block_device& dev, const std::vector<shared_subtree>& subtrees,
                                  const std::string& tree_name)
{
	std::vector<edge_keys> edges(subtrees.size());
	std::vector<edge_probe> probes, next;
	for (size_t i = 0; i < subtrees.size(); ++i)
		for (bool last : {false, true})
			probes.push_back({i, last, subtrees[i].block, subtrees[i].height, subtrees[i].keys});

	io::aligned_buffer buf(batch_blocks);
	std::vector<block_address> blocks;
	while (!probes.empty()) {
		std::sort(probes.begin(), probes.end(),
		          [](const edge_probe& a, const edge_probe& b) { return a.block < b.block; });
		next.clear();
		size_t p = 0;
		while (p < probes.size()) {
			// The probes of up to batch_blocks distinct blocks, read at once.
			blocks.clear();
			size_t q = p;
			for (; q < probes.size(); ++q) {
				if (blocks.empty() || blocks.back() != probes[q].block) {
					if (blocks.size() == batch_blocks)
						break;
					blocks.push_back(probes[q].block);
				}
			}
			for (auto b : blocks)
				dev.check_in_range(b, "mapping tree node");
			dev.read_blocks(blocks, buf.data());
			for (size_t k = p; k < q; ++k) {
				const edge_probe& e = probes[k];
				size_t slot = std::lower_bound(blocks.begin(), blocks.end(), e.block) - blocks.begin();
				const uint8_t* data = buf.block(slot);
				std::string fault = thin::check_mapping_node(data, e.block, e.height, e.keys);
				if (!fault.empty())
					throw error(cat(dev.path(), ": mapping tree of ", tree_name, ": block ", e.block, " (keys ",
					                e.keys.describe(), "): ", fault));
				pdata::node_view n(data);
				if (e.height == 0) {
					if (n.nr_entries()) {
						auto& edge = edges[e.subtree];
						edge.empty = false;
						(e.last ? edge.last : edge.first) = n.key(e.last ? n.nr_entries() - 1 : 0);
					}
					continue;
				}
				uint32_t c = e.last ? n.nr_entries() - 1 : 0;
				next.push_back({e.subtree, e.last, n.child(c), e.height - 1, pdata::child_key_range(n, c, e.keys)});
			}
			p = q;
		}
		probes.swap(next);
	}
	return edges;
}

}

std::optional<std::vector<mapped_span>> prove_spans_full(const io::block_device& dev,
                                                         const std::vector<shared_subtree>& subtrees,
                                                         uint64_t mappings, const std::string& tree_name)
{
	std::vector<mapped_span> spans(subtrees.size());

	// The parents' keys bound each subtree; if the bounds are tight and full,
	// the count says so without a read.
	bool bounded = std::all_of(subtrees.begin(), subtrees.end(),
	                           [](const shared_subtree& s) { return s.keys.end && *s.keys.end > s.keys.begin; });
	if (bounded) {
		u128 total = 0;
		for (size_t i = 0; i < subtrees.size(); ++i) {
			spans[i] = {subtrees[i].keys.begin, *subtrees[i].keys.end};
			total += spans[i].end - spans[i].begin;
		}
		if (total == mappings)
			return spans;
	}

	auto edges = read_edges(dev, subtrees, tree_name);
	u128 total = 0;
	for (size_t i = 0; i < subtrees.size(); ++i) {
		spans[i] = {};
		if (edges[i].empty)
			continue;
		if (edges[i].last < edges[i].first || edges[i].last == UINT64_MAX)
			return std::nullopt;
		spans[i] = {edges[i].first, edges[i].last + 1};
		total += spans[i].end - spans[i].begin;
	}
	if (total == mappings)
		return spans;
	return std::nullopt;
}

void scan_subtree(const io::block_device& dev, const shared_subtree& subtree, const std::string& tree_name,
                  const std::function<void(uint64_t, uint64_t)>& visit)
{
	class leaf_visitor final : public pdata::strict_btree_visitor {
	public:
		leaf_visitor(std::string name, const std::function<void(uint64_t, uint64_t)>& visit)
		    : strict_btree_visitor(std::move(name)), visit_(visit)
		{
		}
		bool visit(block_address, const pdata::node_view& n, const pdata::key_range&) override
		{
			if (n.is_leaf())
				for (uint32_t e = 0; e < n.nr_entries(); ++e)
					visit_(n.key(e), thin::block_time::unpack(n.value64(e)).block);
			return true;
		}

	private:
		const std::function<void(uint64_t, uint64_t)>& visit_;
	};

	leaf_visitor v(cat(dev.path(), ": mapping tree of ", tree_name), visit);
	pdata::btree_walker(dev, thin::mapping_value_size).walk(subtree.block, v);
}

}
