// Walks a device's bottom-level mapping tree past damage: hands on each
// leaf's usable entries in key order (runs of entries whose data block lies
// inside the data device) and remembers which virtual blocks were lost and
// why.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pdata/btree_walk.h"

namespace thinmeta::ops {

class salvaging_visitor final : public pdata::btree_visitor {
public:
	// Receives entries [begin, end) of a leaf, all usable.
	using leaf_fn = std::function<void(const pdata::node_view& leaf, uint32_t begin, uint32_t end)>;

	salvaging_visitor(uint64_t nr_data_blocks, leaf_fn on_entries)
	    : nr_data_blocks_(nr_data_blocks), on_entries_(std::move(on_entries))
	{
	}

	bool visit(block_address where, const pdata::node_view& n, const pdata::key_range& keys) override;
	void damaged(block_address where, const pdata::key_range& keys, const std::string& what) override;

	// False when the root itself could not be read.
	bool root_readable() const { return root_readable_; }
	const std::vector<pdata::key_range>& lost() const { return lost_; }
	const std::vector<std::string>& damage() const { return damage_; }

private:
	uint64_t nr_data_blocks_;
	leaf_fn on_entries_;
	bool first_visit_ = true;
	bool root_readable_ = true;
	std::vector<pdata::key_range> lost_;
	std::vector<std::string> damage_;
};

}
