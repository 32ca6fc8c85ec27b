// thin_metadata_size: estimates the metadata device size a pool needs, as
// thin-provisioning-tools 0.9.0 does.
#include <iostream>
#include <string>

#include "cli/options.h"
#include "cli/tool_main.h"
#include "ops/metadata_size.h"

using namespace thinmeta;

namespace {

int metadata_size_main(int argc, char** argv)
{
	cli::command_line cl("thin_metadata_size", "-b BLOCK_SIZE -s POOL_SIZE -m MAX_THINS [options]");
	namespace po = cli::po;
	cl.add()("block-size,b", po::value<std::string>()->value_name("size"),
	         "data block size of the pool (sectors, or a number with a unit: 64k)");
	cl.add()("pool-size,s", po::value<std::string>()->value_name("size"),
	         "size of the pool's data device (sectors, or a number with a unit: 1t)");
	cl.add()("max-thins,m", po::value<std::string>()->value_name("count"),
	         "most thin devices and snapshots the pool will hold at once");
	cl.add()("unit,u", po::value<std::string>()->value_name("unit"),
	         "unit of the answer: b, s, k, K, m, M, g, G, t, T, p, P, e, E, z, Z, y, Y (default s)");
	cl.add()("numeric-only,n", po::value<std::string>()->implicit_value("")->value_name("short|long"),
	         "print the number alone; -nshort or --numeric-only=short adds the unit's letter, "
	         "-nlong its name");
	// -n takes short or long only when attached (-nshort).
	auto args = cli::with_bare_options_valueless(argc, argv, {"-n", "--numeric-only"});
	if (!cl.parse(static_cast<int>(args.size()) - 1, args.data()))
		return cli::exit_ok;

	ops::metadata_size_options options;
	for (const char* required : {"block-size", "pool-size", "max-thins"})
		if (!cl.has(required))
			throw po::error(std::string("--") + required + " is required");
	options.block_size = cl.get<std::string>("block-size");
	options.pool_size = cl.get<std::string>("pool-size");
	options.max_thins = cl.get<std::string>("max-thins");
	if (cl.has("unit"))
		options.unit = cl.get<std::string>("unit");
	if (cl.has("numeric-only"))
		options.numeric = ops::parse_numeric_output(cl.get<std::string>("numeric-only"));

	ops::metadata_size_estimate e = ops::estimate_metadata_size(options);
	for (const auto& note : e.notes)
		std::cerr << "thin_metadata_size: note: " << note << "\n";
	std::cout << e.line << "\n";
	return cli::exit_ok;
}

}

int main(int argc, char** argv)
{
	return cli::run_tool("thin_metadata_size", argc, argv, metadata_size_main);
}
