// thin_delta: prints the differences between two thin devices' mappings.
#include <optional>
#include <string>

#include "base/text.h"
#include "cli/options.h"
#include "cli/output_file.h"
#include "cli/tool_main.h"
#include "ops/delta.h"

using namespace thinmeta;

namespace {

int delta_main(int argc, char** argv)
{
	cli::command_line cl("thin_delta", "[options] {device|file}");
	namespace po = cli::po;
	cl.add()("thin1", po::value<std::string>()->value_name("id"), "the first (left) thin device");
	cl.add()("snap1", po::value<std::string>()->value_name("id"), "the same as --thin1");
	cl.add()("thin2", po::value<std::string>()->value_name("id"), "the second (right) thin device");
	cl.add()("snap2", po::value<std::string>()->value_name("id"), "the same as --thin2");
	cl.add()("root1", po::value<std::string>()->value_name("block"),
	         "instead of --thin1: the root block of a mapping tree");
	cl.add()("root2", po::value<std::string>()->value_name("block"),
	         "instead of --thin2: the root block of a mapping tree");
	cli::add_metadata_snap_option(cl, "and diff its devices");
	cl.add()("verbose", "list every piece with its data blocks, grouped by kind");
	cl.allow_positionals(1);
	auto args = cli::with_bare_options_valueless(argc, argv, {"-m", "--metadata-snap"});
	if (!cl.parse(static_cast<int>(args.size()) - 1, args.data()))
		return cli::exit_ok;

	ops::delta_options options;
	options.source.path = cl.single_input();
	auto snap = cli::metadata_snap_option(cl);
	options.source.metadata_snap = snap.use;
	options.source.snap_location = snap.block;
	// Each side is one of --thinN, --snapN (the same) or --rootN.
	auto side = [&](const std::string& n, ops::delta_side& out) {
		std::string thin = "thin" + n, snap = "snap" + n, root = "root" + n;
		int given = cl.has(thin.c_str()) + cl.has(snap.c_str()) + cl.has(root.c_str());
		if (given > 1)
			throw cli::po::error(cat("give only one of --", thin, ", --", snap, " and --", root));
		for (const auto& name : {thin, snap})
			if (cl.has(name.c_str()))
				out.device = cli::parse_number(cl.get<std::string>(name.c_str()), "--" + name);
		if (cl.has(root.c_str()))
			out.root = cli::parse_number(cl.get<std::string>(root.c_str()), "--" + root);
	};
	side("1", options.left);
	side("2", options.right);
	options.verbose = cl.has("verbose");

	cli::output_file out("");
	ops::write_delta(options, out.stream());
	out.finish();
	return cli::exit_ok;
}

}

int main(int argc, char** argv)
{
	return cli::run_tool("thin_delta", argc, argv, delta_main);
}
