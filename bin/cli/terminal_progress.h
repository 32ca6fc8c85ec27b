// A progress line on stderr for long runs: redrawn at most a few times a
// second, and only when stderr is a terminal.
#pragma once

#include <chrono>
#include <string>

#include "base/progress.h"

namespace thinmeta::cli {

class terminal_progress final : public progress_sink {
public:
	// Silent when `enabled` is false or stderr is not a terminal.
	explicit terminal_progress(bool enabled);
	~terminal_progress() override;

	void update(std::string_view stage, uint64_t done, uint64_t total) override;
	// Erases the line, so that messages that follow start on a clean line.
	void clear();

private:
	bool enabled_;
	bool shown_ = false;
	std::chrono::steady_clock::time_point last_;
};

}
