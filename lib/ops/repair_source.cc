#include "ops/repair_source.h"

#include <algorithm>
#include <optional>

#include "base/text.h"
#include "ops/salvaging_visitor.h"
#include "pdata/ref_count_batch.h"
#include "pdata/ref_count_lookup.h"
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
	const pdata::ref_counter& uses() const { return data_uses_; }

private:
	pdata::ref_counter data_uses_;
	pdata::ref_count_batch batch_{data_uses_};
	std::vector<uint8_t>& leaf_uses_;
};

// Asks, for each mapping of a device, whether its data block is shared,
// tagged with the mapping's time; the answers go to the lookup's callback.
template <typename Lookup>
class shared_time_questions final : public mapping_sink {
public:
	shared_time_questions(Lookup& lookup, uint64_t data_end) : lookup_(lookup), data_end_(data_end) {}

	void leaf_entries(const pdata::node_view& leaf, uint32_t begin, uint32_t end) override
	{
		for (uint32_t i = begin; i < end; ++i) {
			auto bt = thin::block_time::unpack(leaf.value64(i));
			if (bt.block < data_end_)
				lookup_.ask(bt.block, bt.time);
		}
	}

private:
	Lookup& lookup_;
	uint64_t data_end_;
};

}

void repair_source::settle_sharing()
{
	sharing_counter counts(std::min(plan_.data_end, plan_.nr_data_blocks), leaf_uses_);
	for (const auto& d : plan_.devices)
		walk(d, counts);
	counts.counted();

	// The newest time of each device's mappings to shared data blocks.
	std::optional<uint32_t> newest;
	pdata::ref_count_lookup lookup(counts.uses(), [&](uint32_t uses, uint64_t time) {
		if (uses > 1)
			newest = std::max(newest.value_or(0), static_cast<uint32_t>(time));
	});
	shared_time_questions questions(lookup, counts.uses().size());
	for (auto& d : plan_.devices) {
		newest.reset();
		walk(d, questions);
		lookup.answer_all();
		if (!newest || d.details.snapshotted_time > *newest)
			continue;
		uint32_t raised = std::min(*newest + 1, thin::max_mapping_time);
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
