// thin_dump: prints thin-pool metadata (or its metadata snapshot) as XML or
// human-readable text.
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include <iostream>

#include "cli/options.h"
#include "cli/output_file.h"
#include "cli/terminal_progress.h"
#include "cli/tool_main.h"
#include "ops/dump.h"
#include "ops/repair.h"

using namespace thinmeta;

namespace {

int dump_main(int argc, char** argv)
{
	cli::command_line cl("thin_dump", "[options] {device|file}");
	namespace po = cli::po;
	cl.add()("format,f", po::value<std::string>()->default_value("xml")->value_name("format"),
	         "xml or human_readable");
	cl.add()("output,o", po::value<std::string>()->value_name("file"), "write to this file, not standard output");
	cl.add()("metadata-snap,m", po::value<std::string>()->implicit_value("")->value_name("block"),
	         "dump the metadata snapshot: the one the superblock holds, or the one at the block given "
	         "as -m<block> or --metadata-snap=<block>");
	cl.add()("dev-id", po::value<std::vector<std::string>>()->value_name("id"),
	         "dump only this device (repeat for more)");
	cl.add()("skip-mappings", "print the devices without their mappings");
	cl.add()("repair,r", "recover what damaged metadata still holds (as thin_repair does) and print that");
	cl.add()("transaction-id", po::value<std::string>()->value_name("id"),
	         "with --repair: the pool's transaction id, when the superblock is lost");
	cl.add()("data-block-size", po::value<std::string>()->value_name("sectors"),
	         "with --repair: the data block size, when the superblock is lost");
	cl.add()("nr-data-blocks", po::value<std::string>()->value_name("count"),
	         "with --repair: the data device's size in blocks, when the superblock is lost");
	cl.allow_positionals(1);
	// -m takes a block only when attached (-m5): `-m image` names the input.
	auto args = cli::with_bare_options_valueless(argc, argv, {"-m", "--metadata-snap"});
	if (!cl.parse(static_cast<int>(args.size()) - 1, args.data()))
		return cli::exit_ok;

	ops::dump_options options;
	options.input.path = cl.single_input();
	options.format = ops::parse_dump_format(cl.get<std::string>("format"));
	if (cl.has("metadata-snap")) {
		options.input.metadata_snap = true;
		auto where = cl.get<std::string>("metadata-snap");
		if (!where.empty())
			options.input.snap_location = cli::parse_number(where, "--metadata-snap");
	}
	if (cl.has("dev-id"))
		for (const auto& id : cl.get<std::vector<std::string>>("dev-id"))
			options.selection.dev_ids.push_back(cli::parse_number(id, "--dev-id"));
	options.selection.skip_mappings = cl.has("skip-mappings");

	bool repair = cl.has("repair");
	ops::repair_overrides overrides;
	if (cl.has("transaction-id"))
		overrides.transaction_id = cli::parse_number(cl.get<std::string>("transaction-id"), "--transaction-id");
	if (cl.has("data-block-size"))
		overrides.data_block_size =
		    static_cast<uint32_t>(cli::parse_number(cl.get<std::string>("data-block-size"), "--data-block-size"));
	if (cl.has("nr-data-blocks"))
		overrides.nr_data_blocks = cli::parse_number(cl.get<std::string>("nr-data-blocks"), "--nr-data-blocks");
	if (!repair && (overrides.transaction_id || overrides.data_block_size || overrides.nr_data_blocks))
		throw po::error("--transaction-id, --data-block-size and --nr-data-blocks go with --repair");
	if (repair && options.input.metadata_snap)
		throw po::error("--repair reads the whole device and cannot be combined with --metadata-snap");

	std::optional<cli::output_file> out;
	auto open_output = [&]() -> std::ostream& {
		out.emplace(cl.has("output") ? cl.get<std::string>("output") : std::string());
		return out->stream();
	};
	std::vector<std::string> report;
	try {
		if (repair) {
			cli::terminal_progress progress(true);
			report = ops::dump_repaired(options.input.path, overrides, options.selection, options.format, open_output,
			                            progress);
		} else {
			ops::dump_metadata(options, open_output);
		}
	} catch (const error&) {
		// A failed write is better explained by the output's own error.
		if (out)
			out->finish();
		throw;
	}
	out->finish();
	for (const auto& line : report)
		std::cerr << line << "\n";
	return cli::exit_ok;
}

}

int main(int argc, char** argv)
{
	return cli::run_tool("thin_dump", argc, argv, dump_main);
}
