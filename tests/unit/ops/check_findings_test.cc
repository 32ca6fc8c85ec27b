#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ops/check_findings.h"

using namespace thinmeta::ops;
using thinmeta::pdata::key_range;

namespace {
struct recorder : check_listener {
	std::vector<std::string> lines;
	void stage(std::string_view) override {}
	void value(std::string_view, uint64_t) override {}
	void finding(severity s, const std::string& text) override
	{
		lines.push_back(std::string(severity_name(s)) + ": " + text);
	}
};
}

TEST_CASE("findings of one kind are shown ten at a time and all counted", "[check_findings]")
{
	recorder r;
	check_findings f(r);
	for (int i = 0; i < 25; ++i)
		f.report(severity::non_fatal, "leak", "leak " + std::to_string(i));
	f.report(severity::fatal, "other", "broken");
	REQUIRE(r.lines.size() == 12);
	CHECK(r.lines[9] == "non-fatal: leak 9");
	CHECK(r.lines[10] == "non-fatal: (further problems of this kind are counted but not shown: leak)");
	CHECK(r.lines[11] == "error: broken");
	CHECK(f.count(severity::non_fatal) == 25);
	CHECK(f.count(severity::fatal) == 1);
	CHECK_FALSE(f.verdict().passed(true));
}

TEST_CASE("lost mappings are summarised per device as merged ranges", "[check_findings]")
{
	recorder r;
	check_findings f(r);
	f.report(severity::fatal, "node", "bad");
	f.lost_mappings(3, false, key_range{100, 200});
	f.lost_mappings(3, false, key_range{0, 50});
	f.lost_mappings(3, false, key_range{200, 300});
	f.lost_mappings(3, false, key_range{7, 8});
	f.lost_mappings(5, true, key_range{1000, std::nullopt});
	f.damaged_block(17);
	f.damaged_block(9);
	f.damaged_block(17);
	auto v = f.verdict();
	REQUIRE(v.summary.size() == 4);
	CHECK(v.summary[0] == "thin device 3: the mappings of virtual blocks 0..49, virtual blocks 100..299 are "
	                      "unreadable");
	CHECK(v.summary[1] == "metadata snapshot: thin device 5: the mappings of virtual blocks 1000 onwards are "
	                      "unreadable");
	CHECK(v.summary[2] == "damaged metadata blocks: 9, 17");
	CHECK(v.summary[3].find("run thin_repair") != std::string::npos);
}

TEST_CASE("non-fatal findings pass only when ignored", "[check_findings]")
{
	recorder r;
	check_findings f(r);
	f.report(severity::warning, "w", "noted");
	CHECK(f.verdict().passed(false));
	f.report(severity::non_fatal, "leak", "leaked");
	CHECK_FALSE(f.verdict().passed(false));
	CHECK(f.verdict().passed(true));
}
