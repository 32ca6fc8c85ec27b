// Writes the indented, attribute-only XML of the 0.9.0 tools (thin_dump,
// thin_delta): two spaces per level, no declaration, numbers formatted
// without locale. Fast enough to stream millions of elements.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace thinmeta::ops {

class xml_writer {
public:
	explicit xml_writer(std::ostream& out) : out_(out) {}

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

	bool good() const { return out_.good(); }

private:
	void indent();
	void flush_line();

	std::ostream& out_;
	unsigned depth_ = 0;
	std::string line_;
};

// Escapes &, <, >, " for use inside an attribute value.
std::string xml_escape(std::string_view text);

}
