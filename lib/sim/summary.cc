#include "sim/summary.h"

#include "base/text.h"

namespace thinmeta::sim {

namespace {

std::string percent(uint64_t part, uint64_t whole)
{
	if (!whole)
		return "0%";
	uint64_t tenths = (part * 1000 + whole / 2) / whole;
	return cat(tenths / 10, '.', tenths % 10, '%');
}

}

std::vector<std::string> summary_lines(uint64_t operations, uint64_t failures, const pool_stats& s,
                                       const pool_status& usage)
{
	std::vector<std::string> lines;
	lines.push_back(cat(operations, " operations (", failures, " failed): ", s.writes, " writes, ", s.reads,
	                    " reads, ", s.discards, " discards, ", s.flushes, " flushes, ", s.messages, " messages"));
	lines.push_back(cat("blocks provisioned ", s.provisioned, ", copied to break sharing ", s.sharing_broken,
	                    ", unmapped ", s.unmapped, "; ", s.commits, " commits"));
	if (usage.mode == pool_mode::fail) {
		lines.push_back("the pool has failed");
		return lines;
	}
	lines.push_back(cat("metadata ", usage.metadata_used, "/", usage.metadata_total, " blocks (",
	                    percent(usage.metadata_used, usage.metadata_total), "), data ", usage.data_used, "/",
	                    usage.data_total, " blocks (", percent(usage.data_used, usage.data_total), "), mode ",
	                    describe(usage.mode), usage.needs_check ? ", needs_check" : ""));
	if (s.low_water_events)
		lines.push_back("the data low water mark was reached");
	return lines;
}

}
