#include "cli/tool_main.h"

#include <boost/program_options/errors.hpp>
#include <csignal>
#include <iostream>
#include <new>

#include "base/error.h"
#include "cli/output_file.h"

namespace thinmeta::cli {

int run_tool(const char* name, int argc, char** argv, const std::function<int(int, char**)>& body)
{
	// A closed pipe shows up as EPIPE on write, handled below, not as a signal.
	std::signal(SIGPIPE, SIG_IGN);
	try {
		int rc = body(argc, argv);
		return rc == exit_ok ? exit_ok : exit_failure;
	} catch (const output_closed&) {
		return exit_ok;
	} catch (const boost::program_options::error& e) {
		std::cerr << name << ": " << e.what() << "\nTry '" << name << " --help' for the options.\n";
	} catch (const thinmeta::error& e) {
		if (output_reader_gone())
			return exit_ok;
		std::cerr << name << ": " << e.what() << "\n";
	} catch (const std::bad_alloc&) {
		std::cerr << name << ": out of memory\n";
	} catch (const std::exception& e) {
		std::cerr << name << ": " << e.what() << "\n";
	}
	return exit_failure;
}

}
