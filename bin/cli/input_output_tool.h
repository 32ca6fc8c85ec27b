// The frame of a tool that turns one file into another with -i IN -o OUT
// and nothing else (thin_metadata_pack, thin_metadata_unpack).
#pragma once

#include <functional>
#include <string>

#include "cli/options.h"
#include "cli/tool_main.h"

namespace thinmeta::cli {

// Parses -i and -o (both required) and runs convert(input, output).
inline int run_input_output_tool(const char* name, int argc, char** argv, const char* input_help,
                                 const char* output_help,
                                 const std::function<void(const std::string&, const std::string&)>& convert)
{
	return run_tool(name, argc, argv, [&](int ac, char** av) {
		command_line cl(name, "-i {input} -o {output}");
		cl.add()("input,i", po::value<std::string>()->value_name("file"), input_help);
		cl.add()("output,o", po::value<std::string>()->value_name("file"), output_help);
		if (!cl.parse(ac, av))
			return exit_ok;
		if (!cl.has("input"))
			throw po::error("no input given: name it with -i");
		if (!cl.has("output"))
			throw po::error("no output given: name it with -o");
		convert(cl.get<std::string>("input"), cl.get<std::string>("output"));
		return exit_ok;
	});
}

}
