#include "ops/ls_usage.h"

#include "base/error.h"
#include "base/text.h"
#include "pdata/ref_counter.h"
#include "thin/block_time.h"
#include "thin/mapping_forest.h"

namespace thinmeta::ops {

namespace {

struct leaf_summary {
	uint64_t last_key = 0;
	uint32_t nr_entries = 0;
	// Entries that were the first reference to their data block; once
	// counting is done, the entries whose block nothing else maps.
	uint32_t exclusive = 0;
};

}

std::vector<device_usage> count_device_usage(const io::block_device& dev, std::span<const thin::thin_device> devices,
                                             uint64_t nr_data_blocks)
{
	thin::mapping_forest forest(dev, devices);
	std::vector<leaf_summary> summary(forest.nr_leaves());

	// Pass 1: count references to each data block, saturating at 2. An
	// unshared leaf adds one per entry, a shared leaf (reached by several
	// devices) two. An entry that makes a count 1 may be exclusive; if a
	// later entry raises that count, some earlier "first" was not.
	pdata::ref_counter counts(nr_data_blocks);
	uint64_t raised_from_one = 0;
	forest.read_leaves({}, [&](size_t i, const pdata::node_view& n) {
		auto l = forest.leaf_at(i);
		auto& s = summary[i];
		s.nr_entries = n.nr_entries();
		if (s.nr_entries)
			s.last_key = n.key(s.nr_entries - 1);
		for (uint32_t e = 0; e < s.nr_entries; ++e) {
			uint64_t data = thin::block_time::unpack(n.value64(e)).block;
			if (data >= nr_data_blocks)
				throw error(cat(dev.path(), ": mapping tree of device ", devices[l.device].id, ": leaf ", l.block,
				                " maps virtual block ", n.key(e), " to data block ", data,
				                ", past the end of the data device (", nr_data_blocks, " blocks)"));
			uint32_t c = counts.get(data);
			if (c >= 2)
				continue;
			if (c == 1)
				++raised_from_one;
			else if (!l.shared)
				++s.exclusive;
			counts.inc(data, l.shared ? 2 - c : 1);
		}
	});

	// Pass 2, only when some count rose past one: recount the unshared
	// leaves that held a first reference. (A shared leaf's first references
	// count 2 at once: it never holds an exclusive block.)
	if (raised_from_one)
		forest.read_leaves([&](size_t i) { return summary[i].exclusive > 0; },
		                   [&](size_t i, const pdata::node_view& n) {
			                   uint32_t ex = 0;
			                   for (uint32_t e = 0; e < n.nr_entries(); ++e)
				                   ex += counts.get(thin::block_time::unpack(n.value64(e)).block) == 1;
			                   summary[i].exclusive = ex;
		                   });

	std::vector<device_usage> usage(devices.size());
	for (size_t d = 0; d < devices.size(); ++d) {
		auto& u = usage[d];
		forest.device_leaves(d, [&](size_t i) {
			u.exclusive += summary[i].exclusive;
			u.mapped += summary[i].nr_entries;
			if (summary[i].nr_entries)
				u.highest = summary[i].last_key;
		});
	}
	return usage;
}

}
