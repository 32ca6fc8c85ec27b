// thin_dump: prints thin-pool metadata (or its metadata snapshot) as XML or
// human-readable text.
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/options.h"
#include "cli/output_file.h"
#include "cli/tool_main.h"
#include "ops/dump.h"

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

	std::optional<cli::output_file> out;
	try {
		ops::dump_metadata(options, [&]() -> std::ostream& {
			out.emplace(cl.has("output") ? cl.get<std::string>("output") : std::string());
			return out->stream();
		});
	} catch (const error&) {
		// A failed write is better explained by the output's own error.
		if (out)
			out->finish();
		throw;
	}
	out->finish();
	return cli::exit_ok;
}

}

int main(int argc, char** argv)
{
	return cli::run_tool("thin_dump", argc, argv, dump_main);
}
