#include "ops/repair_source.h"

#include <algorithm>

#include "base/text.h"
#include "ops/salvaging_visitor.h"
#include "pdata/ref_count_batch.h"
#include "pdata/ref_counter.h"
#include "thin/block_time.h"
#include "thin/superblock.h"

namespace thinmeta::ops {

repair_source::repair_source(const io::block_device& dev, repair_plan plan)
    : dev_(dev), plan_(std::move(plan)), walker_(dev, thin::mapping_value_size), leaf_uses_(dev.nr_blocks(), 0)
{
	settle_sharing();
}

namespace {

// Counts, over every device, the uses of each data block (over the blocks
// mapped at all, not the data device's size: a damaged superblock may claim
// 2^40) and of each leaf, a leaf only partly usable marked as such. The data
// block counts are complete once counted() has run.
class sharing_counter final : public mapping_sink {
public:
	sharing_counter(uint64_t data_end, std::vector<uint8_t>& leaf_uses) : data_uses_(data_end), leaf_uses_(leaf_uses)
	{
	}

	void leaf_entries(const pdata::node_view& leaf, uint32_t begin, uint32_t end) override
	{
		uint8_t& u = leaf_uses_[leaf.location()];
		if (begin != 0 || end != leaf.nr_entries())
			u = repair_source::used_partly;
		else if (u < repair_source::used_partly - 1)
			++u;
		for (uint32_t i = begin; i < end; ++i) {
			uint64_t b = thin::block_time::unpack(leaf.value64(i)).block;
			if (b < data_uses_.size())
				batch_.inc(b);
		}
	}

	void counted() { batch_.apply_all(); }

	bool shared(uint64_t data_block) const { return data_block < data_uses_.size() && data_uses_.get(data_block) > 1; }

private:
	pdata::ref_counter data_uses_;
	pdata::ref_count_batch batch_{data_uses_};
	std::vector<uint8_t>& leaf_uses_;
};

// The newest time of a device's mappings to shared data blocks.
class newest_shared final : public mapping_sink {
public:
	explicit newest_shared(const sharing_counter& counts) : counts_(counts) {}

	void leaf_entries(const pdata::node_view& leaf, uint32_t begin, uint32_t end) override
	{
		for (uint32_t i = begin; i < end; ++i) {
			auto bt = thin::block_time::unpack(leaf.value64(i));
			if (counts_.shared(bt.block)) {
				found = true;
				time = std::max(time, bt.time);
			}
		}
	}

	bool found = false;
	uint32_t time = 0;

private:
	const sharing_counter& counts_;
};

}

void repair_source::settle_sharing()
{
	sharing_counter counts(std::min(plan_.data_end, plan_.nr_data_blocks), leaf_uses_);
	for (const auto& d : plan_.devices)
		walk(d, counts);
	counts.counted();
	for (auto& d : plan_.devices) {
		newest_shared newest(counts);
		walk(d, newest);
		if (!newest.found || d.details.snapshotted_time > newest.time)
			continue;
		uint32_t raised = std::min(newest.time + 1, thin::max_mapping_time);
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
	for (const auto& d : plan_.devices)
		if (d.id == device.id) {
			walk(d, sink);
			return;
		}
}

void repair_source::walk(const recovered_device& d, mapping_sink& sink)
{
	if (!d.root)
		return;
	salvaging_visitor v(plan_.nr_data_blocks, [&](const pdata::node_view& leaf, uint32_t begin, uint32_t end) {
		sink.leaf_entries(leaf, begin, end);
	});
	walker_.walk(*d.root, v);
}

}
