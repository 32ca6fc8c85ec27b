// The check every dump emitter makes on its stream: a dump whose output has
// failed (the reader of a pipe went away, the disk is full) must stop.
#pragma once

#include <ostream>

namespace thinmeta::ops {

// Throws thinmeta::error when `out` has failed.
void check_dump_output(const std::ostream& out);

}
