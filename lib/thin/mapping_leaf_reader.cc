#include "thin/mapping_leaf_reader.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "base/text.h"
#include "thin/mapping_node_check.h"

namespace thinmeta::thin {

error mapping_tree_damage(const io::block_device& dev, const thin_device& device, block_address b,
                          const pdata::key_range& keys, const std::string& what)
{
	return error(cat(dev.path(), ": mapping tree of device ", device.id, ": block ", b, " (keys ", keys.describe(),
	                 "): ", what));
}

void read_mapping_leaves(const io::block_device& dev, std::span<const thin_device> devices,
                         std::span<const leaf_to_read> slice, io::read_ahead_buffers& buffers,
                         const std::function<void(const leaf_to_read&, const pdata::node_view&)>& visit)
{
	std::vector<block_address> blocks(slice.size());
	for (size_t i = 0; i < slice.size(); ++i)
		blocks[i] = slice[i].block;
	std::vector<std::span<const block_address>> batches;
	for (size_t first = 0; first < blocks.size(); first += forest_batch_blocks)
		batches.push_back(std::span(blocks).subspan(first, std::min(forest_batch_blocks, blocks.size() - first)));
	// The first damaged leaf of each batch, if any: (its place, the fault).
	std::vector<std::pair<size_t, std::string>> faults(batches.size(), {SIZE_MAX, {}});
	io::read_ahead reader(dev, batches, [&](size_t k, const uint8_t* data, size_t n) {
		for (size_t j = 0; j < n; ++j) {
			const leaf_to_read& l = slice[k * forest_batch_blocks + j];
			std::string fault = check_mapping_node(data + j * block_size, l.block, 0, l.keys());
			if (!fault.empty()) {
				faults[k] = {j, std::move(fault)};
				return;
			}
		}
	}, buffers);
	for (size_t k = 0; k < batches.size(); ++k) {
		const uint8_t* data = reader.next();
		for (size_t j = 0; j < batches[k].size(); ++j) {
			const leaf_to_read& l = slice[k * forest_batch_blocks + j];
			if (j == faults[k].first)
				throw mapping_tree_damage(dev, devices[l.device], l.block, l.keys(), faults[k].second);
			visit(l, pdata::node_view(data + j * block_size));
		}
	}
}

}
