#include "ops/ls.h"

#include "ops/ls_grid.h"
#include "ops/ls_usage.h"

namespace thinmeta::ops {

void list_devices(const ls_options& options, std::ostream& out)
{
	thin::metadata_reader md(options.source);
	auto devices = md.devices();

	std::vector<device_usage> usage;
	if (needs_mapping_counts(options.fields)) {
		// A metadata snapshot's superblock copy has no space maps: the data
		// device's size comes from the live superblock.
		uint64_t nr_data_blocks = thin::read_superblock(md.device(), thin::superblock_location).data_sm.nr_blocks;
		usage = count_device_usage(md.device(), devices, nr_data_blocks);
	}

	// 0.9.0 prints nothing at all for an empty field list.
	if (options.fields.empty())
		return;

	text_grid grid;
	if (options.headers) {
		std::vector<std::string> header;
		for (const auto& f : options.fields)
			header.emplace_back(f.name);
		grid.add_row(std::move(header));
	}
	for (size_t d = 0; d < devices.size(); ++d) {
		ls_row_values row;
		row.id = devices[d].id;
		row.details = devices[d].details;
		if (!usage.empty()) {
			row.exclusive = usage[d].exclusive;
			row.highest = usage[d].highest;
		}
		std::vector<std::string> cells;
		for (const auto& f : options.fields)
			cells.push_back(format_ls_cell(f, row, md.sb().data_block_size));
		grid.add_row(std::move(cells));
	}
	grid.render(out);
}

}
