// Collects what a check finds: passes each problem to the listener (at most a
// few per kind, so a wrecked device does not print millions of lines),
// counts problems by severity, and remembers which thin devices lost which
// virtual blocks, to tell the user at the end in their terms.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ops/check_report.h"
#include "pdata/key_range.h"

namespace thinmeta::ops {

class check_findings {
public:
	explicit check_findings(check_listener& listener) : listener_(listener) {}

	// `kind` groups findings for the cap; the text is complete on its own.
	void report(severity s, const std::string& kind, const std::string& text);

	// A thin device (of the live metadata or of the metadata snapshot) lost
	// the mappings of these virtual blocks.
	void lost_mappings(uint64_t dev_id, bool in_snapshot, const pdata::key_range& vblocks);
	// A node of a mapping tree's top level is unusable: the devices whose ids
	// fall in `ids` may have lost everything.
	void lost_devices(bool in_snapshot, const pdata::key_range& ids);
	// A metadata block whose damage was reported.
	void damaged_block(uint64_t block) { damaged_blocks_.push_back(block); }

	uint64_t count(severity s) const { return counts_[static_cast<int>(s)]; }
	bool any_fatal() const { return count(severity::fatal) > 0; }

	// The verdict with its user-facing summary.
	check_verdict verdict() const;

	static constexpr unsigned reports_per_kind = 10;

private:
	check_listener& listener_;
	uint64_t counts_[3] = {0, 0, 0};
	std::map<std::string, uint64_t> per_kind_;
	std::map<std::pair<bool, uint64_t>, std::vector<pdata::key_range>> lost_;
	std::vector<std::pair<bool, pdata::key_range>> lost_device_ranges_;
	std::vector<uint64_t> damaged_blocks_;
};

}
