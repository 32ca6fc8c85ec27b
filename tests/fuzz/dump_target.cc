// Fuzz target: thin_dump, plain and --repair, on arbitrary metadata (see
// input_files.h for how input bytes become an image), as XML and in the
// human-readable format. A plain dump stops at damage with thinmeta::error;
// a repairing dump goes on past it. Anything else is a bug.

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <streambuf>

#include "base/error.h"
#include "base/progress.h"
#include "input_files.h"
#include "ops/dump.h"
#include "ops/repair.h"

using namespace thinmeta;

namespace {

// Counts what it is given and keeps none of it.
class null_buffer final : public std::streambuf {
protected:
	int_type overflow(int_type c) override { return traits_type::not_eof(c); }
	std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

void dump(const std::string& image, bool metadata_snap, ops::dump_format format)
{
	null_buffer buf;
	std::ostream out(&buf);
	ops::dump_options options;
	options.input.path = image;
	options.input.metadata_snap = metadata_snap;
	options.format = format;
	try {
		ops::dump_metadata(options, out);
	} catch (const error&) {
	}
}

void dump_repaired(const std::string& image, ops::dump_format format)
{
	null_buffer buf;
	std::ostream out(&buf);
	no_progress progress;
	ops::repair_overrides overrides;
	overrides.data_block_size = 128;
	try {
		ops::dump_repaired(image, overrides, {}, format, [&]() -> std::ostream& { return out; }, progress);
	} catch (const error&) {
	}
}

}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	std::string image = fuzz::write_image("dump.img", data, size);
	dump(image, false, ops::dump_format::xml);
	dump(image, true, ops::dump_format::human_readable);
	dump_repaired(image, ops::dump_format::xml);
	return 0;
}
