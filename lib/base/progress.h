// Progress of a long operation, reported to whoever runs it (a tool prints a
// line on a terminal; tests ignore it). The library never prints itself.
#pragma once

#include <cstdint>
#include <string_view>

namespace thinmeta {

class progress_sink {
public:
	virtual ~progress_sink() = default;
	// `done` of `total` units of the named stage are finished.
	virtual void update(std::string_view stage, uint64_t done, uint64_t total) = 0;
};

class no_progress final : public progress_sink {
public:
	void update(std::string_view, uint64_t, uint64_t) override {}
};

}
