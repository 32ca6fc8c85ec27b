// Fuzz target: thin_metadata_unpack's reader (header, compressed records,
// the pack-machine decoder) on arbitrary bytes. Bad input ends in
// thinmeta::error; anything else is a bug.

#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "input_files.h"
#include "ops/pack.h"

using namespace thinmeta;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	std::string pack = fuzz::write_file("unpack.pack", data, size);
	try {
		ops::unpack_metadata(pack, fuzz::scratch_dir() + "/unpacked.img");
	} catch (const error&) {
	}
	return 0;
}
