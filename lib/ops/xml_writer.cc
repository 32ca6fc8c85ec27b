#include "ops/xml_writer.h"

#include <charconv>

namespace thinmeta::ops {

void xml_writer::indent()
{
	line_.append(2 * size_t(depth_), ' ');
}

void xml_writer::flush_line()
{
	out_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
	line_.clear();
}

xml_writer& xml_writer::open(std::string_view name)
{
	indent();
	line_ += '<';
	line_ += name;
	return *this;
}

xml_writer& xml_writer::attr(std::string_view name, uint64_t value)
{
	char buf[24];
	auto r = std::to_chars(buf, buf + sizeof(buf), value);
	line_ += ' ';
	line_ += name;
	line_ += "=\"";
	line_.append(buf, r.ptr);
	line_ += '"';
	return *this;
}

xml_writer& xml_writer::attr(std::string_view name, std::string_view value)
{
	line_ += ' ';
	line_ += name;
	line_ += "=\"";
	line_ += xml_escape(value);
	line_ += '"';
	return *this;
}

void xml_writer::end_open()
{
	line_ += ">\n";
	flush_line();
	++depth_;
}

void xml_writer::end_empty()
{
	line_ += "/>\n";
	flush_line();
}

void xml_writer::close(std::string_view name)
{
	if (depth_)
		--depth_;
	indent();
	line_ += "</";
	line_ += name;
	line_ += ">\n";
	flush_line();
}

std::string xml_escape(std::string_view text)
{
	std::string out;
	out.reserve(text.size());
	for (char c : text) {
		switch (c) {
		case '&':
			out += "&amp;";
			break;
		case '<':
			out += "&lt;";
			break;
		case '>':
			out += "&gt;";
			break;
		case '"':
			out += "&quot;";
			break;
		default:
			out += c;
		}
	}
	return out;
}

}
