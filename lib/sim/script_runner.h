// Runs thin_sim scripts: one operation a line (a pool message in the
// kernel's syntax, write, discard, read, flush, status, crash), `#` to the
// end of a line is a comment. Each line does what ../shared/simdiff's
// to-kernel makes the real kernel do and prints what it prints: read
// digests, status lines, "error <line>: <errno text>" for failures (I/O to
// a device that is not active fails with ENODEV, a malformed I/O line with
// EINVAL). Devices are activated when created (a snapshot inherits its
// origin's external origin unless it has its own), deactivated before
// they are deleted; a flush goes to every device written or discarded
// since the last flush, status or crash.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <set>
#include <string_view>

#include "base/progress.h"
#include "sim/pool_session.h"

namespace thinmeta::sim {

class script_runner {
public:
	// The pool starts with every device of its metadata active.
	script_runner(pool_session& session, std::ostream& out);

	// Runs one line; `number` counts every line of the script from 1.
	void run_line(uint64_t number, std::string_view line);
	// Removes the devices and the pool, as at the end of a run.
	void finish();
	uint64_t operations() const { return operations_; }
	uint64_t failures() const { return failures_; }

private:
	void fail(uint64_t number, int errno_value);
	bool active_or_fail(uint64_t number, uint64_t dev);
	void write_through_page_cache(uint64_t dev, uint64_t offset, uint64_t length, uint8_t fill);
	void io_line(uint64_t number, std::string_view op, const std::vector<std::string_view>& args);
	void message_line(std::string_view op, const std::vector<std::string_view>& args, std::string_view text);
	void activate(uint64_t dev, const external_origin* origin);

	pool_session& session_;
	thin_pool& pool_;
	std::ostream& out_;
	std::set<uint64_t> touched_;  // written or discarded since the last flush
	std::map<uint64_t, const external_origin*> origin_of_;
	uint64_t operations_ = 0;
	uint64_t failures_ = 0;
};

struct run_summary {
	uint64_t lines = 0;
	uint64_t operations = 0;
	uint64_t failures = 0;
	pool_stats stats;
	pool_status usage;  // as the pool was left
};

// Runs a whole script on the pool `setup` describes, printing to `out`;
// the pool is closed cleanly at the end.
run_summary run_script(const pool_setup& setup, std::string_view script, std::ostream& out,
                       progress_sink& progress);

}
