#include "ops/repair_source.h"

#include <algorithm>

#include "base/text.h"
#include "pdata/ref_counter.h"

#include "ops/salvaging_visitor.h"
#include "thin/block_time.h"
#include "thin/superblock.h"

namespace thinmeta::ops {

repair_source::repair_source(const io::block_device& dev, repair_plan plan)
    : dev_(dev), plan_(std::move(plan)), walker_(dev, thin::mapping_value_size)
{
	settle_sharing();
}

namespace {

// Calls fn(data block, time) for each mapping a device yields.
template <typename Fn>
class each_mapping final : public mapping_sink {
public:
	explicit each_mapping(Fn fn) : fn_(fn) {}
	void leaf_entries(const pdata::node_view& leaf, uint32_t begin, uint32_t end) override
	{
		for (uint32_t i = begin; i < end; ++i) {
			auto bt = thin::block_time::unpack(leaf.value64(i));
			fn_(bt.block, bt.time);
		}
	}

private:
	Fn fn_;
};

}

void repair_source::settle_sharing()
{
	// How often each data block is mapped, over the blocks mapped at all
	// (not the data device's size: a damaged superblock may claim 2^40).
	pdata::ref_counter uses(std::min(plan_.data_end, plan_.nr_data_blocks));
	auto devices = this->devices();
	for (const auto& d : devices) {
		each_mapping count([&](uint64_t b, uint32_t) {
			if (b < uses.size())
				uses.inc(b);
		});
		mappings(d, count);
	}
	for (auto& d : plan_.devices) {
		bool shares = false;
		uint32_t newest = 0;
		each_mapping find([&](uint64_t b, uint32_t time) {
			if (b < uses.size() && uses.get(b) > 1) {
				shares = true;
				newest = std::max(newest, time);
			}
		});
		mappings(thin::thin_device{d.id, d.details, d.root.value_or(0)}, find);
		if (!shares || d.details.snapshotted_time > newest)
			continue;
		uint32_t raised = std::min(newest + 1, thin::max_mapping_time);
		plan_.notes.push_back(cat("thin device ", d.id, ": snap_time raised from ", d.details.snapshotted_time, " to ",
		                          raised, ": it shares data blocks with other devices, and must copy them before "
		                          "writing to them"));
		d.details.snapshotted_time = raised;
		plan_.time = std::max(plan_.time, raised);
	}
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
