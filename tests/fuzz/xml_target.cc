// Fuzz target: thin_restore's XML reader and the metadata builder behind it,
// on arbitrary text, restoring into a 4 MiB scratch image. Bad input ends in
// thinmeta::error; anything else is a bug.

#include <cstddef>
#include <cstdint>
#include <unistd.h>

#include "base/error.h"
#include "base/progress.h"
#include "input_files.h"
#include "ops/restore.h"

using namespace thinmeta;

namespace {

constexpr off_t output_bytes = 4 << 20;

class ignore_warnings final : public ops::restore_warnings {
public:
	void warning(const std::string&) override {}
};

}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	ops::restore_options options;
	options.input = fuzz::write_file("restore.xml", data, size);
	options.output = fuzz::write_file("restore.img", nullptr, 0);
	if (::truncate(options.output.c_str(), output_bytes) != 0)
		return 0;
	no_progress progress;
	ignore_warnings warnings;
	try {
		ops::restore(options, progress, warnings);
	} catch (const error&) {
	}
	return 0;
}
