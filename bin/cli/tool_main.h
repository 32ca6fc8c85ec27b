// The frame every tool runs in: turns exceptions into a message on stderr and
// exit status 1 (never 2: LVM reads a thin_check status of 2 as "not
// installed"), and ends quietly when the reader of stdout goes away.
#pragma once

#include <functional>

namespace thinmeta::cli {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;

// Runs body(argc, argv) and returns the process exit status.
int run_tool(const char* name, int argc, char** argv, const std::function<int(int, char**)>& body);

}
