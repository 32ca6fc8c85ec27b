#include "ops/ls_usage.h"

#include <unordered_map>

#include "base/error.h"
#include "base/text.h"
#include "pdata/ref_count_batch.h"
#include "pdata/ref_count_lookup.h"
#include "pdata/use_tally.h"
#include "thin/block_time.h"
#include "thin/mapping_forest.h"

namespace thinmeta::ops {

std::vector<device_usage> count_device_usage(const io::block_device& dev, std::span<const thin::thin_device> devices,
                                             uint64_t nr_data_blocks)
{
	thin::mapping_forest forest(dev, devices);
	// Entries of each leaf: at most 254 (a 4 KiB node of 16-byte entries).
	std::vector<uint8_t> entries(forest.nr_leaves());
	std::vector<device_usage> usage(devices.size());

	// Pass 1: count uses of each data block: one per entry of an unshared
	// leaf, two per entry of a shared leaf (reached by several devices, so
	// its blocks are shared whatever else maps them).
	pdata::use_tally uses(nr_data_blocks);
	bool any_unshared = false;
	{
		pdata::increment_batch<pdata::use_tally> batch(uses);
		forest.read_leaves({}, [&](size_t i, const pdata::node_view& n) {
			auto l = forest.leaf_at(i);
			uint32_t nr = n.nr_entries();
			entries[i] = static_cast<uint8_t>(nr);
			any_unshared |= !l.shared;
			for (uint32_t e = 0; e < nr; ++e) {
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

	// Pass 2: an unshared leaf's entries whose block is used once are its
	// device's exclusive blocks.
	if (any_unshared) {
		pdata::ref_count_lookup lookup(uses,
		                               [&](uint32_t count, uint64_t device) { usage[device].exclusive += count == 1; });
		forest.read_leaves([&](size_t i) { return !forest.leaf_at(i).shared; },
		                   [&](size_t i, const pdata::node_view& n) {
			                   uint32_t device = forest.leaf_at(i).device;
			                   for (uint32_t e = 0; e < n.nr_entries(); ++e)
				                   lookup.ask(thin::block_time::unpack(n.value64(e)).block, device);
		                   });
		lookup.answer_all();
	}

	// Mappings per device, and the last leaf holding any: its last key is
	// the device's highest mapped block (those few leaves are read again).
	constexpr size_t no_leaf = SIZE_MAX;
	std::vector<size_t> last_leaf(devices.size(), no_leaf);
	std::unordered_map<size_t, uint64_t> last_key;  // by leaf
	for (size_t d = 0; d < devices.size(); ++d) {
		forest.device_leaves(d, [&](size_t i) {
			usage[d].mapped += entries[i];
			if (entries[i])
				last_leaf[d] = i;
		});
		if (last_leaf[d] != no_leaf)
			last_key[last_leaf[d]] = 0;
	}
	forest.read_leaves([&](size_t i) { return last_key.contains(i); },
	                   [&](size_t i, const pdata::node_view& n) { last_key[i] = n.key(n.nr_entries() - 1); });
	for (size_t d = 0; d < devices.size(); ++d)
		if (last_leaf[d] != no_leaf)
			usage[d].highest = last_key[last_leaf[d]];
	return usage;
}

}
