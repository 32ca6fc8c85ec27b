#include "ops/rmap_regions.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "base/error.h"
#include "base/text.h"

namespace thinmeta::ops {

namespace {

bool parse_block(std::string_view text, uint64_t& out)
{
	auto r = std::from_chars(text.data(), text.data() + text.size(), out);
	return !text.empty() && r.ec == std::errc() && r.ptr == text.data() + text.size();
}

}

data_region parse_data_region(std::string_view text)
{
	size_t dots = text.find("..");
	if (dots == std::string_view::npos)
		throw error(cat("region '", text, "' is not of the form BEGIN..END (for example 5..45)"));
	data_region r;
	if (!parse_block(text.substr(0, dots), r.begin) || !parse_block(text.substr(dots + 2), r.end))
		throw error(cat("region '", text, "': BEGIN and END must be non-negative whole numbers"));
	if (r.end <= r.begin)
		throw error(cat("region '", text, "' is empty: END is one past the last block, so it must be above BEGIN"));
	return r;
}

region_set::region_set(std::vector<data_region> regions)
{
	std::sort(regions.begin(), regions.end(),
	          [](const data_region& a, const data_region& b) { return a.begin < b.begin; });
	for (const auto& r : regions) {
		if (!merged_.empty() && r.begin <= merged_.back().end)
			merged_.back().end = std::max(merged_.back().end, r.end);
		else
			merged_.push_back(r);
	}
}

bool region_set::contains(uint64_t block) const
{
	auto it = std::upper_bound(merged_.begin(), merged_.end(), block,
	                           [](uint64_t b, const data_region& r) { return b < r.begin; });
	return it != merged_.begin() && block < std::prev(it)->end;
}

std::vector<data_region> region_set::within(uint64_t begin, uint64_t end) const
{
	std::vector<data_region> parts;
	for (const auto& r : merged_)
		if (r.begin < end && r.end > begin)
			parts.push_back({std::max(r.begin, begin), std::min(r.end, end)});
	return parts;
}

}
