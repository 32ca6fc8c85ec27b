#include "ops/repair_source.h"

#include "ops/salvaging_visitor.h"
#include "thin/block_time.h"
#include "thin/superblock.h"

namespace thinmeta::ops {

repair_source::repair_source(const io::block_device& dev, repair_plan plan)
    : dev_(dev), plan_(std::move(plan)), walker_(dev, thin::mapping_value_size)
{
}

dump_pool_header repair_source::pool() const
{
	return {plan_.time, plan_.transaction_id, 0, thin::superblock_version, plan_.data_block_size,
	        plan_.nr_data_blocks};
}

std::vector<thin::thin_device> repair_source::devices()
{
	std::vector<thin::thin_device> out;
	for (const auto& d : plan_.devices) {
		thin::thin_device t{d.id, d.details, d.root.value_or(0)};
		t.details.mapped_blocks = d.mappings;
		out.push_back(t);
	}
	return out;
}

void repair_source::mappings(const thin::thin_device& device, mapping_sink& sink)
{
	for (const auto& d : plan_.devices) {
		if (d.id != device.id || !d.root)
			continue;
		salvaging_visitor v(plan_.nr_data_blocks,
		                    [&](const pdata::node_view& leaf, uint32_t begin, uint32_t end) {
			                    sink.leaf_entries(leaf, begin, end);
		                    });
		walker_.walk(*d.root, v);
		return;
	}
}

}
