// thin_metadata_unpack: turns a file thin_metadata_pack made back into a
// metadata image of the original size.
#include "cli/input_output_tool.h"
#include "ops/pack.h"

int main(int argc, char** argv)
{
	return thinmeta::cli::run_input_output_tool(
	    "thin_metadata_unpack", argc, argv, "the pack file to read", "the image file to write",
	    [](const std::string& in, const std::string& out) { thinmeta::ops::unpack_metadata(in, out); });
}
