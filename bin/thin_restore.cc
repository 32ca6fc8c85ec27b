// thin_restore: builds thin-pool metadata on a device or file from a
// thin_dump XML file (0.9.0's flat form or 1.x's form with shared leaves).
#include <iostream>
#include <limits>
#include <string>

#include "base/text.h"
#include "cli/options.h"
#include "cli/terminal_progress.h"
#include "cli/tool_main.h"
#include "ops/restore.h"

using namespace thinmeta;

namespace {

class stderr_warnings final : public ops::restore_warnings {
public:
	stderr_warnings(bool quiet, cli::terminal_progress& progress) : quiet_(quiet), progress_(progress) {}
	void warning(const std::string& text) override
	{
		if (quiet_)
			return;
		progress_.clear();
		std::cerr << "thin_restore: warning: " << text << "\n";
	}

private:
	bool quiet_;
	cli::terminal_progress& progress_;
};

int restore_main(int argc, char** argv)
{
	cli::command_line cl("thin_restore", "-i <input xml file> -o <output device or file> [options]");
	namespace po = cli::po;
	cl.add()("input,i", po::value<std::string>()->value_name("file"), "the XML to restore (thin_dump's format)");
	cl.add()("output,o", po::value<std::string>()->value_name("file"),
	         "the metadata device or file to write (it must exist and be large enough)");
	cl.add()("transaction-id", po::value<std::string>()->value_name("n"), "use this transaction id, not the XML's");
	cl.add()("data-block-size", po::value<std::string>()->value_name("sectors"),
	         "use this data block size, not the XML's");
	cl.add()("nr-data-blocks", po::value<std::string>()->value_name("n"),
	         "use this number of data blocks, not the XML's");
	cl.add()("quiet,q", "no progress line and no warnings (errors are still printed)");
	if (!cl.parse(argc, argv))
		return cli::exit_ok;

	if (!cl.has("input"))
		throw po::error("no input file given (-i)");
	if (!cl.has("output"))
		throw po::error("no output file given (-o)");
	ops::restore_options options;
	options.input = cl.get<std::string>("input");
	options.output = cl.get<std::string>("output");
	if (cl.has("transaction-id"))
		options.overrides.transaction_id = cli::parse_number(cl.get<std::string>("transaction-id"), "--transaction-id");
	if (cl.has("data-block-size")) {
		uint64_t v = cli::parse_number(cl.get<std::string>("data-block-size"), "--data-block-size");
		if (v > std::numeric_limits<uint32_t>::max())
			throw po::error(cat("option --data-block-size: ", v, " is more than a superblock can hold"));
		options.overrides.data_block_size = static_cast<uint32_t>(v);
	}
	if (cl.has("nr-data-blocks"))
		options.overrides.nr_data_blocks = cli::parse_number(cl.get<std::string>("nr-data-blocks"), "--nr-data-blocks");

	bool quiet = cl.has("quiet");
	cli::terminal_progress progress(!quiet);
	stderr_warnings warnings(quiet, progress);
	ops::restore(options, progress, warnings);
	progress.clear();
	return cli::exit_ok;
}

}

int main(int argc, char** argv)
{
	return cli::run_tool("thin_restore", argc, argv, restore_main);
}
