// How the thin metadata trees count references through their values, as in
// dm-thin-metadata.c: mapping leaves hold block_times whose data blocks are
// counted in the data space map (in runs of consecutive blocks), and the
// mapping tree's top level holds bottom-level roots, which are metadata
// blocks: copying one adds a reference, dropping one deletes the subtree.
#pragma once

#include "pdata/btree.h"
#include "pdata/space_map.h"

namespace thinmeta::thin {

class data_block_value_type final : public pdata::btree_value_type {
public:
	explicit data_block_value_type(pdata::space_map& data_sm) : btree_value_type(8), sm_(data_sm) {}
	void inc(const uint8_t* values, uint32_t count) override;
	void dec(const uint8_t* values, uint32_t count) override;
	// Same data block (the times may differ).
	bool equal(const uint8_t* a, const uint8_t* b) const override;

private:
	pdata::space_map& sm_;
};

class subtree_value_type final : public pdata::btree_value_type {
public:
	// `subtree` describes the trees the values are roots of.
	explicit subtree_value_type(const pdata::btree_info& subtree) : btree_value_type(8), subtree_(subtree) {}
	void inc(const uint8_t* values, uint32_t count) override;
	void dec(const uint8_t* values, uint32_t count) override;
	bool equal(const uint8_t* a, const uint8_t* b) const override;

private:
	const pdata::btree_info& subtree_;
};

}
