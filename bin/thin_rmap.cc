// thin_rmap: lists the thin devices and virtual blocks that map given data
// blocks.
#include <string>
#include <vector>

#include "cli/options.h"
#include "cli/output_file.h"
#include "cli/tool_main.h"
#include "ops/rmap.h"

using namespace thinmeta;

namespace {

int rmap_main(int argc, char** argv)
{
	cli::command_line cl("thin_rmap", "[options] {device|file}");
	namespace po = cli::po;
	cl.add()("region", po::value<std::vector<std::string>>()->value_name("BEGIN..END"),
	         "data blocks BEGIN up to, not including, END (5..45 is blocks 5 to 44); repeat for more");
	cl.allow_positionals(1);
	if (!cl.parse(argc, argv))
		return cli::exit_ok;

	ops::rmap_options options;
	options.source.path = cl.single_input();
	if (cl.has("region"))
		for (const auto& r : cl.get<std::vector<std::string>>("region"))
			options.regions.push_back(ops::parse_data_region(r));

	cli::output_file out("");
	ops::write_rmap(options, out.stream());
	out.finish();
	return cli::exit_ok;
}

}

int main(int argc, char** argv)
{
	return cli::run_tool("thin_rmap", argc, argv, rmap_main);
}
