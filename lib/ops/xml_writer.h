// Writes the indented, attribute-only XML of the 0.9.0 tools (thin_dump,
// thin_delta): two spaces per level, no declaration, numbers formatted
// without locale. Fast enough to stream millions of elements: given a batch
// size, it hands the stream whole batches of lines instead of single lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace thinmeta::ops {

class xml_writer {
public:
	// batch_bytes 0: every line goes to the stream as soon as it ends.
	// Otherwise lines collect until they pass batch_bytes (or flush()).
	explicit xml_writer(std::ostream& out, size_t batch_bytes = 0);
	// Writes what is still collected (errors are left in the stream's state).
	~xml_writer();
	xml_writer(const xml_writer&) = delete;
	xml_writer& operator=(const xml_writer&) = delete;

	// <name a="1" b="2">   (attributes added with attr() before end_open())
	xml_writer& open(std::string_view name);
	xml_writer& attr(std::string_view name, uint64_t value);
	xml_writer& attr(std::string_view name, std::string_view value);
	// Ends the start tag: ">" and a newline; the element stays open.
	void end_open();
	// Ends the start tag as an empty element: "/>" and a newline.
	void end_empty();
	// </name> at the enclosing indentation.
	void close(std::string_view name);

	// Hands every collected line to the stream.
	void flush();
	bool good() const { return out_.good(); }

private:
	void indent();
	void end_line();

	std::ostream& out_;
	size_t batch_bytes_;
	unsigned depth_ = 0;
	std::string text_;  // finished lines not yet written, then the open line
};

// Escapes &, <, >, " for use inside an attribute value.
std::string xml_escape(std::string_view text);

}
