// Fuzz target: thin_check on arbitrary metadata (see input_files.h for how
// input bytes become an image), on the live metadata and, when the
// superblock holds one, the metadata snapshot. Damage is reported as
// findings or thinmeta::error; anything else (a crash, a sanitizer report,
// another exception) is a bug.

#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "base/progress.h"
#include "input_files.h"
#include "ops/check.h"

using namespace thinmeta;

namespace {

class ignore_findings final : public ops::check_listener {
public:
	void stage(std::string_view) override {}
	void value(std::string_view, uint64_t) override {}
	void finding(ops::severity, const std::string&) override {}
};

void check(const std::string& image, bool metadata_snap, bool clear_flag)
{
	ops::check_options options;
	options.path = image;
	options.metadata_snap = metadata_snap;
	options.clear_needs_check_flag = clear_flag;
	ignore_findings listener;
	no_progress progress;
	try {
		ops::check_metadata(options, listener, progress);
	} catch (const error&) {
	}
}

}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	std::string image = fuzz::write_image("check.img", data, size);
	check(image, false, false);
	check(image, true, false);
	check(image, false, true);
	return 0;
}
