#include "cli/terminal_progress.h"

#include <cstdio>
#include <unistd.h>

namespace thinmeta::cli {

terminal_progress::terminal_progress(bool enabled) : enabled_(enabled && ::isatty(STDERR_FILENO)) {}

terminal_progress::~terminal_progress()
{
	clear();
}

void terminal_progress::update(std::string_view stage, uint64_t done, uint64_t total)
{
	if (!enabled_)
		return;
	auto now = std::chrono::steady_clock::now();
	if (shown_ && now - last_ < std::chrono::milliseconds(200) && done != total)
		return;
	last_ = now;
	int percent = total ? static_cast<int>(done * 100 / total) : 0;
	std::fprintf(stderr, "\r\033[K%.*s: %d%%", static_cast<int>(stage.size()), stage.data(), percent);
	std::fflush(stderr);
	shown_ = true;
}

void terminal_progress::clear()
{
	if (shown_) {
		std::fputs("\r\033[K", stderr);
		std::fflush(stderr);
		shown_ = false;
	}
}

}
