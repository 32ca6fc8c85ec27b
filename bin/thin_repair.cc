// thin_repair: recovers what a damaged pool's metadata still holds and
// writes it as new metadata to another device or file. The input is only
// ever read.

#include <iostream>
#include <string>
#include <vector>

#include "cli/options.h"
#include "cli/terminal_progress.h"
#include "cli/tool_main.h"
#include "ops/repair.h"

using namespace thinmeta;

namespace {

int repair_main(int argc, char** argv)
{
	cli::command_line cl("thin_repair", "[options] -i {device|file} -o {device|file}");
	namespace po = cli::po;
	cl.add()("input,i", po::value<std::string>()->value_name("file"), "the damaged metadata (only read)");
	cl.add()("output,o", po::value<std::string>()->value_name("file"),
	         "where to write the repaired metadata: an existing device or file at least as large as needed");
	cl.add()("quiet,q", "print nothing but errors");
	cl.add()("transaction-id", po::value<std::string>()->value_name("id"),
	         "the pool's transaction id, when the superblock is lost");
	cl.add()("data-block-size", po::value<std::string>()->value_name("sectors"),
	         "the pool's data block size, when the superblock is lost");
	cl.add()("nr-data-blocks", po::value<std::string>()->value_name("count"),
	         "the data device's size in blocks, when the superblock is lost");

	// LVM 2.03.16 passes its empty default option as an argument of its own.
	std::vector<char*> args;
	for (int i = 0; i < argc; ++i)
		if (i == 0 || argv[i][0] != '\0')
			args.push_back(argv[i]);
	args.push_back(nullptr);
	if (!cl.parse(static_cast<int>(args.size()) - 1, args.data()))
		return cli::exit_ok;
	if (!cl.has("input") || !cl.has("output"))
		throw po::error("both the input (-i) and the output (-o) must be given");

	ops::repair_options options;
	options.input = cl.get<std::string>("input");
	options.output = cl.get<std::string>("output");
	if (cl.has("transaction-id"))
		options.overrides.transaction_id = cli::parse_number(cl.get<std::string>("transaction-id"), "--transaction-id");
	if (cl.has("data-block-size"))
		options.overrides.data_block_size = static_cast<uint32_t>(
		    cli::parse_number(cl.get<std::string>("data-block-size"), "--data-block-size"));
	if (cl.has("nr-data-blocks"))
		options.overrides.nr_data_blocks = cli::parse_number(cl.get<std::string>("nr-data-blocks"), "--nr-data-blocks");

	bool quiet = cl.has("quiet");
	cli::terminal_progress progress(!quiet);
	auto report = ops::repair(options, progress);
	progress.clear();
	if (!quiet)
		for (const auto& line : report)
			std::cerr << line << "\n";
	return cli::exit_ok;
}

}

int main(int argc, char** argv)
{
	return cli::run_tool("thin_repair", argc, argv, repair_main);
}
