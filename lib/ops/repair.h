// thin_repair and thin_dump --repair as library operations: recover what a
// damaged pool's metadata still holds (see repair_plan.h) and write it as new
// metadata on another device, or as XML. The input is only ever read.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "base/progress.h"
#include "ops/dump.h"
#include "ops/repair_plan.h"
#include "ops/restore_events.h"
#include "ops/repair_source.h"

namespace thinmeta::ops {

struct repair_options {
	std::string input;
	std::string output;
	repair_overrides overrides;
};

// What a repair found and recovered, one line each, in the user's terms.
std::vector<std::string> repair_report(const repair_plan& plan);

// Sends the recovered pool to `out` as restore events: leaves that several
// devices share are sent once as defs and referred to, so the new metadata
// shares them too.
void emit_repaired(repair_source& source, restore_events& out);

// thin_repair: writes repaired metadata to options.output. Returns the report.
std::vector<std::string> repair(const repair_options& options, progress_sink& progress);

// thin_dump --repair: prints the recovered pool; the output is opened only
// once the input has been read. Returns the report.
std::vector<std::string> dump_repaired(const std::string& input, const repair_overrides& overrides,
                                       const dump_selection& selection, dump_format format,
                                       const std::function<std::ostream&()>& open_output, progress_sink& progress);

}
