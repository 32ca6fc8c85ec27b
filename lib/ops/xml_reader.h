// Reads thin_dump XML as a stream (expat) and turns it into restore events:
// the flat form of 0.9.0 and the 1.x form whose <def name="..."> blocks of
// mappings are shared by devices through <ref name="..."/>. The file is read
// in pieces, so memory does not grow with its size. Elements, attributes and
// numbers are checked here (xml/thinmeta.rng describes what is accepted);
// what they mean is checked by whoever takes the events. Every error names
// the file, line and column; position() gives the place for warnings.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/progress.h"
#include "ops/restore_events.h"

namespace thinmeta::ops {

struct xml_position {
	uint64_t line = 0;    // 1-based
	uint64_t column = 0;  // 1-based, in bytes
};

class xml_reader {
public:
	xml_reader(std::string path, restore_events& events, progress_sink& progress);
	~xml_reader();

	// Reads the whole file. Errors (malformed XML, unknown elements or
	// attributes, bad numbers, and bad_input from the events) are thrown as
	// bad_input "PATH:LINE:COLUMN: what".
	void read();

	const std::string& path() const;
	// Where the element being handled starts.
	xml_position position() const;
	// "PATH:LINE:COLUMN: " for the element being handled.
	std::string place() const;

private:
	struct parser;
	std::unique_ptr<parser> p_;
};

}
