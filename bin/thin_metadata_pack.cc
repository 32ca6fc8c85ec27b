// thin_metadata_pack: packs thin-pool metadata (a device or an image file) into a compact file.
#include <string>

#include "cli/options.h"
#include "cli/tool_main.h"
#include "ops/pack.h"

using namespace thinmeta;

namespace {

int pack_main(int argc, char** argv)
{
	cli::command_line cl("thin_metadata_pack", "-i {input} -o {output}");
	namespace po = cli::po;
	cl.add()("input,i", po::value<std::string>()->value_name("file"), "the metadata device or image file to pack");
	cl.add()("output,o", po::value<std::string>()->value_name("file"), "the pack file to write");
	if (!cl.parse(argc, argv))
		return cli::exit_ok;
	if (!cl.has("input"))
		throw po::error("no input given: name it with -i");
	if (!cl.has("output"))
		throw po::error("no output given: name it with -o");
	ops::pack_metadata(cl.get<std::string>("input"), cl.get<std::string>("output"));
	return cli::exit_ok;
}

}

int main(int argc, char** argv)
{
	return cli::run_tool("thin_metadata_pack", argc, argv, pack_main);
}
