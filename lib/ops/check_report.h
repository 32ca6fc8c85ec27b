// How thin_check tells its caller what it finds: stages, the values scripts
// read (TRANSACTION_ID=...), and each problem with its severity; and the
// verdict at the end. The tool decides where the text goes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace thinmeta::ops {

// warning: printed, never changes the exit status.
// non_fatal: nothing is lost or at risk (a leak, an underfull node); fails
//            the check unless --ignore-non-fatal-errors.
// fatal: data or metadata is lost or at risk of being overwritten.
enum class severity { warning, non_fatal, fatal };

const char* severity_name(severity s);

class check_listener {
public:
	virtual ~check_listener() = default;
	virtual void stage(std::string_view what) = 0;
	virtual void value(std::string_view key, uint64_t v) = 0;
	virtual void finding(severity s, const std::string& text) = 0;
};

struct check_verdict {
	uint64_t fatal = 0;
	uint64_t non_fatal = 0;
	uint64_t warnings = 0;
	bool needs_check_cleared = false;
	// A few sentences for the user: what is damaged, in their terms, and
	// what to do next. Empty when all is well.
	std::vector<std::string> summary;

	bool passed(bool ignore_non_fatal) const { return fatal == 0 && (ignore_non_fatal || non_fatal == 0); }
};

}
