#include "ops/xml_writer.h"

#include <charconv>

namespace thinmeta::ops {

xml_writer::xml_writer(std::ostream& out, size_t batch_bytes) : out_(out), batch_bytes_(batch_bytes)
{
	if (batch_bytes_)
		text_.reserve(batch_bytes_ + 256);
}

xml_writer::~xml_writer()
{
	try {
		flush();
	} catch (...) {
		// A stream set to throw has already failed; the owner sees its state.
	}
}

void xml_writer::indent()
{
	text_.append(2 * size_t(depth_), ' ');
}

void xml_writer::end_line()
{
	if (text_.size() >= batch_bytes_)
		flush();
}

void xml_writer::flush()
{
	if (text_.empty())
		return;
	out_.write(text_.data(), static_cast<std::streamsize>(text_.size()));
	text_.clear();
}

xml_writer& xml_writer::open(std::string_view name)
{
	indent();
	text_ += '<';
	text_ += name;
	return *this;
}

xml_writer& xml_writer::attr(std::string_view name, uint64_t value)
{
	char buf[24];
	auto r = std::to_chars(buf, buf + sizeof(buf), value);
	text_ += ' ';
	text_ += name;
	text_ += "=\"";
	text_.append(buf, r.ptr);
	text_ += '"';
	return *this;
}

xml_writer& xml_writer::attr(std::string_view name, std::string_view value)
{
	text_ += ' ';
	text_ += name;
	text_ += "=\"";
	text_ += xml_escape(value);
	text_ += '"';
	return *this;
}

void xml_writer::end_open()
{
	text_ += ">\n";
	end_line();
	++depth_;
}

void xml_writer::end_empty()
{
	text_ += "/>\n";
	end_line();
}

void xml_writer::close(std::string_view name)
{
	if (depth_)
		--depth_;
	indent();
	text_ += "</";
	text_ += name;
	text_ += ">\n";
	end_line();
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
