#include "ops/check_findings.h"

#include <algorithm>

#include "base/text.h"

namespace thinmeta::ops {

const char* severity_name(severity s)
{
	switch (s) {
	case severity::warning:
		return "warning";
	case severity::non_fatal:
		return "non-fatal";
	case severity::fatal:
		return "error";
	}
	return "error";
}

void check_findings::report(severity s, const std::string& kind, const std::string& text)
{
	++counts_[static_cast<int>(s)];
	uint64_t n = ++per_kind_[kind];
	if (n <= reports_per_kind)
		listener_.finding(s, text);
	else if (n == reports_per_kind + 1)
		listener_.finding(s, cat("(further problems of this kind are counted but not shown: ", kind, ")"));
}

void check_findings::lost_mappings(uint64_t dev_id, bool in_snapshot, const pdata::key_range& vblocks)
{
	lost_[{in_snapshot, dev_id}].push_back(vblocks);
}

void check_findings::lost_devices(bool in_snapshot, const pdata::key_range& ids)
{
	lost_device_ranges_.emplace_back(in_snapshot, ids);
}

namespace {

// Sorts and merges overlapping or touching ranges.
std::vector<pdata::key_range> merged(std::vector<pdata::key_range> rs)
{
	std::sort(rs.begin(), rs.end(), [](auto& a, auto& b) { return a.begin < b.begin; });
	std::vector<pdata::key_range> out;
	for (auto& r : rs) {
		if (!out.empty() && (!out.back().end || r.begin <= *out.back().end)) {
			auto& last = out.back();
			if (last.end && (!r.end || *r.end > *last.end))
				last.end = r.end;
			continue;
		}
		out.push_back(r);
	}
	return out;
}

std::string describe_blocks(const pdata::key_range& r)
{
	if (!r.end)
		return cat("virtual blocks ", r.begin, " onwards");
	if (*r.end == r.begin + 1)
		return cat("virtual block ", r.begin);
	return cat("virtual blocks ", r.begin, "..", *r.end - 1);
}

}

check_verdict check_findings::verdict() const
{
	check_verdict v;
	v.fatal = count(severity::fatal);
	v.non_fatal = count(severity::non_fatal);
	v.warnings = count(severity::warning);

	for (auto& [who, ranges] : lost_) {
		auto [in_snapshot, dev] = who;
		std::string line = cat(in_snapshot ? "metadata snapshot: " : "", "thin device ", dev, ": the mappings of ");
		auto m = merged(ranges);
		for (size_t i = 0; i < m.size(); ++i) {
			if (i == 5) {
				line += cat(" and ", m.size() - 5, " more ranges");
				break;
			}
			line += (i ? ", " : "") + describe_blocks(m[i]);
		}
		line += " are unreadable";
		v.summary.push_back(line);
	}
	for (auto& [in_snapshot, ids] : lost_device_ranges_)
		v.summary.push_back(cat(in_snapshot ? "metadata snapshot: " : "", "thin devices with ids in ",
		                        ids.describe(), " may have lost all their mappings"));
	if (!damaged_blocks_.empty()) {
		auto blocks = damaged_blocks_;
		std::sort(blocks.begin(), blocks.end());
		blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());
		std::string line = "damaged metadata blocks: ";
		for (size_t i = 0; i < blocks.size() && i < 20; ++i)
			line += cat(i ? ", " : "", blocks[i]);
		if (blocks.size() > 20)
			line += cat(" and ", blocks.size() - 20, " more");
		v.summary.push_back(line);
	}
	if (v.fatal)
		v.summary.push_back("The metadata is damaged. Keep the pool inactive; run thin_repair to write repaired "
		                    "metadata to a new device (or lvconvert --repair for an LVM pool), check the result "
		                    "with thin_check, then swap it in.");
	else if (v.non_fatal)
		v.summary.push_back("Nothing is lost, but the metadata is not exactly as the kernel leaves it (see "
		                    "above). thin_check --ignore-non-fatal-errors accepts it; thin_repair rewrites it "
		                    "cleanly.");
	return v;
}

}
