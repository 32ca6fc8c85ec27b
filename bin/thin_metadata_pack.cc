// thin_metadata_pack: packs thin-pool metadata (a device or an image file)
// into a compact file.
#include "cli/input_output_tool.h"
#include "ops/pack.h"

int main(int argc, char** argv)
{
	return thinmeta::cli::run_input_output_tool(
	    "thin_metadata_pack", argc, argv, "the metadata device or image file to pack", "the pack file to write",
	    [](const std::string& in, const std::string& out) { thinmeta::ops::pack_metadata(in, out); });
}
