// thin_check: validates thin-pool metadata. Exit status 0 when it passes,
// 1 otherwise (never 2: LVM reads 2 as "thin_check is not installed").

#include <iostream>

#include "cli/options.h"
#include "cli/terminal_progress.h"
#include "cli/tool_main.h"
#include "ops/check.h"

using namespace thinmeta;

namespace {

class stream_listener final : public ops::check_listener {
public:
	stream_listener(bool quiet, cli::terminal_progress& progress) : quiet_(quiet), progress_(progress) {}

	void stage(std::string_view what) override
	{
		if (!quiet_) {
			progress_.clear();
			std::cerr << what << "\n";
		}
	}
	void value(std::string_view key, uint64_t v) override
	{
		if (!quiet_)
			std::cout << key << "=" << v << std::endl;
	}
	void finding(ops::severity s, const std::string& text) override
	{
		if (quiet_)
			return;
		progress_.clear();
		std::cerr << "  " << (s == ops::severity::warning ? "warning: " : "") << text << "\n";
	}

private:
	bool quiet_;
	cli::terminal_progress& progress_;
};

int check_main(int argc, char** argv)
{
	cli::command_line cmd("thin_check", "[options] {device|file}");
	cmd.add()("quiet,q", "print nothing; the exit status tells the result")(
	    "metadata-snap,m", "check the metadata snapshot instead of the live metadata")(
	    "super-block-only", "check only the superblock")("skip-mappings",
	                                                      "do not check the devices' mapping trees")(
	    "ignore-non-fatal-errors", "pass despite problems that lose nothing (leaked blocks, underfull nodes)")(
	    "clear-needs-check-flag", "clear the kernel's needs_check flag if the check passes")(
	    "auto-repair", "free leaked blocks (the one fix that is safe in place), then clear needs_check")(
	    "override-mapping-root", cli::po::value<std::string>(), "use BLOCK as the root of the mapping tree")(
	    "override-details-root", cli::po::value<std::string>(), "use BLOCK as the root of the device details tree");
	cmd.allow_positionals(1);
	if (!cmd.parse(argc, argv))
		return cli::exit_ok;

	ops::check_options options;
	options.path = cmd.single_input();
	options.metadata_snap = cmd.has("metadata-snap");
	options.super_block_only = cmd.has("super-block-only");
	options.skip_mappings = cmd.has("skip-mappings");
	options.ignore_non_fatal_errors = cmd.has("ignore-non-fatal-errors");
	options.clear_needs_check_flag = cmd.has("clear-needs-check-flag");
	options.auto_repair = cmd.has("auto-repair");
	if (cmd.has("override-mapping-root"))
		options.override_mapping_root =
		    cli::parse_number(cmd.get<std::string>("override-mapping-root"), "--override-mapping-root");
	if (cmd.has("override-details-root"))
		options.override_details_root =
		    cli::parse_number(cmd.get<std::string>("override-details-root"), "--override-details-root");

	bool quiet = cmd.has("quiet");
	cli::terminal_progress progress(!quiet);
	stream_listener listener(quiet, progress);
	ops::check_verdict verdict = ops::check_metadata(options, listener, progress);
	progress.clear();

	bool passed = verdict.passed(options.ignore_non_fatal_errors);
	if (!quiet) {
		for (const auto& line : verdict.summary)
			std::cerr << line << "\n";
		if (verdict.needs_check_cleared)
			std::cerr << "cleared the needs_check flag\n";
	}
	return passed ? cli::exit_ok : cli::exit_failure;
}

}

int main(int argc, char** argv)
{
	return cli::run_tool("thin_check", argc, argv, check_main);
}
