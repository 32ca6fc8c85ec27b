// Command-line parsing shared by the tools: Boost.ProgramOptions with -h and
// -V on every tool, usage text in the familiar shape, and number parsing
// with messages that name the option.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace thinmeta::cli {

namespace po = boost::program_options;

class command_line {
public:
	// `usage` is the line after "Usage: <name> ", e.g. "[options] {device|file}".
	command_line(std::string name, std::string usage);

	po::options_description_easy_init add() { return visible_.add_options(); }
	// Positional arguments, read with positionals() or single_input().
	void allow_positionals(int max_count) { max_positionals_ = max_count; }

	// Parses; returns false when -h or -V was handled (the tool then exits 0).
	bool parse(int argc, char** argv);

	const po::variables_map& vars() const { return vm_; }
	bool has(const char* option) const { return vm_.count(option) > 0; }
	template <typename T>
	T get(const char* option) const
	{
		return vm_[option].as<T>();
	}
	std::vector<std::string> positionals() const;
	// The single input file, with a clear error if it is missing or doubled.
	std::string single_input(const char* what = "a metadata device or file") const;

	void print_usage(std::ostream& out) const;

private:
	std::string name_;
	std::string usage_;
	po::options_description visible_;
	po::variables_map vm_;
	int max_positionals_ = 0;
};

// Parses a non-negative decimal number; the error names `option`.
uint64_t parse_number(const std::string& text, const std::string& option);

// Boost gives an option with an implicit value the next word when the option
// is given bare: `-m image` would read "image" as the option's value. For
// options whose value may only be attached (-m5, --metadata-snap=5), this
// returns argv with an empty word after each bare `spellings` entry (before
// any "--"), so the implicit value is used and the next word stays an input.
std::vector<char*> with_bare_options_valueless(int argc, char** argv,
                                               std::initializer_list<std::string_view> spellings);

// The -m/--metadata-snap[=block] option of the tools that read metadata:
// `what` completes "read the metadata snapshot ..." in the help text. Parse
// with with_bare_options_valueless(argc, argv, {"-m", "--metadata-snap"}).
void add_metadata_snap_option(command_line& cl, const char* what);
struct metadata_snap_choice {
	bool use = false;
	std::optional<uint64_t> block;  // none: the one the superblock holds
};
metadata_snap_choice metadata_snap_option(const command_line& cl);

}
