#include "ops/rmap.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "base/error.h"
#include "thin/block_time.h"
#include "thin/mapping_forest.h"

namespace thinmeta::ops {

namespace {

// A mapping whose data block is in one of the regions.
struct hit {
	uint64_t vblock;
	uint64_t data;
};

// Consecutive virtual blocks of one device mapped to consecutive data blocks.
struct rmap_run {
	uint64_t data_begin = 0;
	uint64_t data_end = 0;
	uint64_t device = 0;
	uint64_t vbegin = 0;
};

void append_number(std::string& line, uint64_t v)
{
	char buf[24];
	auto r = std::to_chars(buf, buf + sizeof(buf), v);
	line.append(buf, r.ptr);
}

}

void write_rmap(const rmap_options& options, std::ostream& out)
{
	if (options.regions.empty())
		throw error("no regions given: name the data blocks to look up with --region BEGIN..END");
	region_set regions(options.regions);
	thin::metadata_reader md(options.source);
	// Every device of the mapping tree's top level, as 0.9.0 walks it.
	auto devices = md.mapping_roots();
	thin::mapping_forest forest(md.device(), devices);

	// Each distinct leaf is read once; its hits are kept for every device
	// whose tree holds it.
	std::vector<hit> hits;
	std::vector<size_t> first_hit(forest.nr_leaves() + 1, 0);
	forest.read_leaves({}, [&](size_t i, const pdata::node_view& n) {
		for (uint32_t e = 0; e < n.nr_entries(); ++e) {
			uint64_t data = thin::block_time::unpack(n.value64(e)).block;
			if (regions.contains(data))
				hits.push_back({n.key(e), data});
		}
		first_hit[i + 1] = hits.size();
	});

	std::vector<rmap_run> runs;
	for (size_t d = 0; d < devices.size(); ++d) {
		rmap_run current;
		bool open = false;
		forest.device_leaves(d, [&](size_t leaf) {
			for (size_t h = first_hit[leaf]; h < first_hit[leaf + 1]; ++h) {
				const hit& x = hits[h];
				if (open && x.data == current.data_end &&
				    x.vblock == current.vbegin + (current.data_end - current.data_begin)) {
					++current.data_end;
					continue;
				}
				if (open)
					runs.push_back(current);
				current = {x.data, x.data + 1, devices[d].id, x.vblock};
				open = true;
			}
		});
		if (open)
			runs.push_back(current);
	}

	std::sort(runs.begin(), runs.end(), [](const rmap_run& a, const rmap_run& b) {
		if (a.data_begin != b.data_begin)
			return a.data_begin < b.data_begin;
		if (a.device != b.device)
			return a.device < b.device;
		return a.vbegin < b.vbegin;
	});
	std::string line;
	for (const auto& r : runs) {
		line = "data ";
		append_number(line, r.data_begin);
		line += "..";
		append_number(line, r.data_end);
		line += " -> thin(";
		append_number(line, r.device);
		line += ") ";
		append_number(line, r.vbegin);
		line += "..";
		append_number(line, r.vbegin + (r.data_end - r.data_begin));
		line += '\n';
		out.write(line.data(), static_cast<std::streamsize>(line.size()));
	}
}

}
