#include "ops/dump_strict_source.h"

#include "base/text.h"
#include "thin/block_time.h"

namespace thinmeta::ops {

namespace {

// Hands every leaf of a device's mapping tree to the sink; throws on damage.
class leaf_forwarder final : public pdata::strict_btree_visitor {
public:
	leaf_forwarder(std::string tree_name, mapping_sink& sink)
	    : strict_btree_visitor(std::move(tree_name)), sink_(sink)
	{
	}

	bool visit(block_address, const pdata::node_view& node, const pdata::key_range&) override
	{
		if (node.is_leaf())
			sink_.leaf_entries(node, 0, node.nr_entries());
		return true;
	}

private:
	mapping_sink& sink_;
};

}

dump_strict_source::dump_strict_source(const thin::read_request& request)
    : reader_(request), walker_(reader_.device(), thin::mapping_value_size)
{
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
	return reader_.devices();
}

void dump_strict_source::mappings(const thin::thin_device& device, mapping_sink& sink)
{
	leaf_forwarder forward(cat(path(), ": mapping tree of device ", device.id), sink);
	walker_.walk(device.mapping_root, forward);
}

}
