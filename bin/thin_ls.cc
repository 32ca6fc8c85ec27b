// thin_ls: lists a pool's thin devices with the columns asked for.
#include <string>

#include "base/text.h"
#include "cli/options.h"
#include "cli/output_file.h"
#include "cli/tool_main.h"
#include "ops/ls.h"

using namespace thinmeta;

namespace {

std::string fields_help()
{
	std::string text = "comma-separated columns: ";
	auto names = ops::ls_field_names();
	for (size_t i = 0; i < names.size(); ++i)
		text += cat(i ? ", " : "", names[i]);
	return text + " (default DEV,MAPPED,CREATE_TIME,SNAP_TIME)";
}

int ls_main(int argc, char** argv)
{
	cli::command_line cl("thin_ls", "[options] {device|file}");
	namespace po = cli::po;
	cl.add()("format,o", po::value<std::string>()->value_name("fields"), fields_help().c_str());
	cl.add()("no-headers", "print no header row");
	cli::add_metadata_snap_option(cl, "and list its devices");
	cl.allow_positionals(1);
	auto args = cli::with_bare_options_valueless(argc, argv, {"-m", "--metadata-snap"});
	if (!cl.parse(static_cast<int>(args.size()) - 1, args.data()))
		return cli::exit_ok;

	ops::ls_options options;
	options.source.path = cl.single_input();
	auto snap = cli::metadata_snap_option(cl);
	options.source.metadata_snap = snap.use;
	options.source.snap_location = snap.block;
	if (cl.has("format"))
		options.fields = ops::parse_ls_fields(cl.get<std::string>("format"));
	options.headers = !cl.has("no-headers");

	cli::output_file out("");
	ops::list_devices(options, out.stream());
	out.finish();
	return cli::exit_ok;
}

}

int main(int argc, char** argv)
{
	return cli::run_tool("thin_ls", argc, argv, ls_main);
}
