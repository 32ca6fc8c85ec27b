#include "ops/ls_usage.h"

#include "base/error.h"
#include "base/text.h"
#include "pdata/ref_count_batch.h"
#include "pdata/ref_count_lookup.h"
#include "pdata/ref_counter.h"
#include "thin/block_time.h"
#include "thin/mapping_forest.h"

namespace thinmeta::ops {

namespace {

struct leaf_summary {
	uint64_t last_key = 0;
	uint32_t nr_entries = 0;
};

}

std::vector<device_usage> count_device_usage(const io::block_device& dev, std::span<const thin::thin_device> devices,
                                             uint64_t nr_data_blocks)
{
	thin::mapping_forest forest(dev, devices);
	std::vector<leaf_summary> summary(forest.nr_leaves());
	std::vector<device_usage> usage(devices.size());

	// Pass 1: count references to each data block: one per entry of an
	// unshared leaf, two per entry of a shared leaf (reached by several
	// devices, so its blocks are shared whatever else maps them).
	pdata::ref_counter counts(nr_data_blocks);
	bool any_unshared = false;
	{
		pdata::ref_count_batch batch(counts);
		forest.read_leaves({}, [&](size_t i, const pdata::node_view& n) {
			auto l = forest.leaf_at(i);
			auto& s = summary[i];
			s.nr_entries = n.nr_entries();
			if (s.nr_entries)
				s.last_key = n.key(s.nr_entries - 1);
			any_unshared |= !l.shared;
			for (uint32_t e = 0; e < s.nr_entries; ++e) {
				uint64_t data = thin::block_time::unpack(n.value64(e)).block;
				if (data >= nr_data_blocks)
					throw error(cat(dev.path(), ": mapping tree of device ", devices[l.device].id, ": leaf ",
					                l.block, " maps virtual block ", n.key(e), " to data block ", data,
					                ", past the end of the data device (", nr_data_blocks, " blocks)"));
				batch.inc(data);
				if (l.shared)
					batch.inc(data);
			}
		});
		batch.apply_all();
	}

	// Pass 2: an unshared leaf's entries whose block counts 1 are its
	// device's exclusive blocks.
	if (any_unshared) {
		pdata::ref_count_lookup lookup(counts,
		                               [&](uint32_t count, uint64_t device) { usage[device].exclusive += count == 1; });
		forest.read_leaves([&](size_t i) { return !forest.leaf_at(i).shared; },
		                   [&](size_t i, const pdata::node_view& n) {
			                   uint32_t device = forest.leaf_at(i).device;
			                   for (uint32_t e = 0; e < n.nr_entries(); ++e)
				                   lookup.ask(thin::block_time::unpack(n.value64(e)).block, device);
		                   });
		lookup.answer_all();
	}

	for (size_t d = 0; d < devices.size(); ++d) {
		auto& u = usage[d];
		forest.device_leaves(d, [&](size_t i) {
			u.mapped += summary[i].nr_entries;
			if (summary[i].nr_entries)
				u.highest = summary[i].last_key;
		});
	}
	return usage;
}

}
