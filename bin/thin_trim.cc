// thin_trim: discards the data blocks an inactive pool does not use.

#include <iostream>
#include <string>

#include "cli/options.h"
#include "cli/terminal_progress.h"
#include "cli/tool_main.h"
#include "ops/trim.h"

using namespace thinmeta;

namespace {

int trim_main(int argc, char** argv)
{
	cli::command_line cl("thin_trim", "[options] --metadata-dev {device|file} --data-dev {device|file}");
	namespace po = cli::po;
	cl.add()("metadata-dev", po::value<std::string>()->value_name("file"), "the pool's metadata (only read)");
	cl.add()("data-dev", po::value<std::string>()->value_name("file"),
	         "the pool's data device or image file, whose unused blocks are discarded");
	cl.add()("quiet,q", "print nothing but errors");
	if (!cl.parse(argc, argv))
		return cli::exit_ok;
	if (!cl.has("metadata-dev") || !cl.has("data-dev"))
		throw po::error("both --metadata-dev and --data-dev must be given");

	ops::trim_options options{cl.get<std::string>("metadata-dev"), cl.get<std::string>("data-dev")};
	bool quiet = cl.has("quiet");
	cli::terminal_progress progress(!quiet);
	auto r = ops::trim(options, progress);
	progress.clear();
	if (!quiet)
		std::cerr << "discarded " << r.blocks_discarded << " of " << r.data_blocks << " data blocks ("
		          << r.bytes_discarded << " bytes) in " << r.ranges << (r.ranges == 1 ? " range\n" : " ranges\n");
	return cli::exit_ok;
}

}

int main(int argc, char** argv)
{
	return cli::run_tool("thin_trim", argc, argv, trim_main);
}
