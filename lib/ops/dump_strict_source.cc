#include "ops/dump_strict_source.h"

#include "base/error.h"
#include "base/text.h"
#include "thin/block_time.h"

namespace thinmeta::ops {

namespace {

// Hands every leaf of a device's mapping tree to the sink; throws on damage.
class leaf_forwarder final : public pdata::strict_btree_visitor {
public:
	leaf_forwarder(std::string tree_name, mapping_sink& sink, const std::string& truncation_hint)
	    : strict_btree_visitor(std::move(tree_name)), sink_(sink), truncation_hint_(truncation_hint)
	{
	}

	bool visit(block_address, const pdata::node_view& node, const pdata::key_range&) override
	{
		if (node.is_leaf())
			sink_.leaf_entries(node, 0, node.nr_entries());
		return true;
	}

	void damaged(block_address where, const pdata::key_range& keys, const std::string& what) override
	{
		strict_btree_visitor::damaged(where, keys, what + truncation_hint_);
	}

private:
	mapping_sink& sink_;
	const std::string& truncation_hint_;
};

}

dump_strict_source::dump_strict_source(const thin::read_request& request)
    : reader_(request), walker_(reader_.device(), thin::mapping_value_size)
{
	// Only the live superblock knows the metadata's size; a snapshot's copy
	// has no space maps.
	uint64_t covered = reader_.sb().metadata_sm.nr_blocks;
	if (covered > reader_.device().nr_blocks())
		truncation_hint_ = cat("; the metadata space map covers ", covered, " blocks but the file holds only ",
		                       reader_.device().nr_blocks(), ": is the image truncated?");
}

dump_pool_header dump_strict_source::pool() const
{
	const thin::superblock& sb = reader_.sb();
	// A metadata snapshot's copy of the superblock keeps no space maps, so
	// its data device size is unknown: 0.9.0 prints 0.
	uint64_t nr_data_blocks = reader_.reading_snapshot() ? 0 : sb.data_sm.nr_blocks;
	return {sb.time, sb.trans_id, sb.flags, sb.version, sb.data_block_size, nr_data_blocks};
}

std::vector<thin::thin_device> dump_strict_source::devices()
{
	try {
		return reader_.devices();
	} catch (const error& e) {
		if (truncation_hint_.empty())
			throw;
		throw error(e.what() + truncation_hint_);
	}
}

void dump_strict_source::mappings(const thin::thin_device& device, mapping_sink& sink)
{
	leaf_forwarder forward(cat(path(), ": mapping tree of device ", device.id), sink, truncation_hint_);
	walker_.walk(device.mapping_root, forward);
}

}
