#include "cli/options.h"

#include <algorithm>
#include <charconv>
#include <iostream>

#include "base/error.h"
#include "base/text.h"
#include "base/version.h"

namespace thinmeta::cli {

namespace {
constexpr const char* positionals_key = "positional-arguments";
}

command_line::command_line(std::string name, std::string usage)
    : name_(std::move(name)), usage_(std::move(usage)), visible_("Options")
{
	visible_.add_options()("help,h", "print this help and exit")("version,V", "print the version and exit");
}

bool command_line::parse(int argc, char** argv)
{
	po::options_description all;
	all.add(visible_);
	// Not "input": tools have their own --input (-i) option.
	all.add_options()(positionals_key, po::value<std::vector<std::string>>(), "positional arguments");
	po::positional_options_description pos;
	pos.add(positionals_key, -1);

	auto parsed = po::command_line_parser(argc, argv)
	                  .options(all)
	                  .positional(pos)
	                  .style(po::command_line_style::unix_style)
	                  .run();
	po::store(parsed, vm_);
	po::notify(vm_);

	if (has("help")) {
		print_usage(std::cout);
		return false;
	}
	if (has("version")) {
		std::cout << version << "\n";
		return false;
	}
	if (positionals().size() > static_cast<size_t>(max_positionals_))
		throw po::error(cat("unexpected argument '", positionals()[max_positionals_], "'"));
	return true;
}

std::vector<std::string> command_line::positionals() const
{
	if (!has(positionals_key))
		return {};
	return vm_[positionals_key].as<std::vector<std::string>>();
}

std::string command_line::single_input(const char* what) const
{
	auto p = positionals();
	if (p.empty())
		throw po::error(cat("no input given: name ", what));
	return p.front();
}

void command_line::print_usage(std::ostream& out) const
{
	out << "Usage: " << name_ << " " << usage_ << "\n" << visible_;
}

uint64_t parse_number(const std::string& text, const std::string& option)
{
	uint64_t v = 0;
	auto r = std::from_chars(text.data(), text.data() + text.size(), v);
	if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size())
		throw po::error(cat("option ", option, ": '", text, "' is not a non-negative whole number"));
	return v;
}

std::vector<char*> with_bare_options_valueless(int argc, char** argv,
                                               std::initializer_list<std::string_view> spellings)
{
	static char no_value[] = "";
	std::vector<char*> out;
	bool options_ended = false;
	for (int i = 0; i < argc; ++i) {
		out.push_back(argv[i]);
		std::string_view word = argv[i];
		if (i == 0 || options_ended)
			continue;
		if (word == "--")
			options_ended = true;
		else if (std::find(spellings.begin(), spellings.end(), word) != spellings.end())
			out.push_back(no_value);
	}
	out.push_back(nullptr);
	return out;
}

void add_metadata_snap_option(command_line& cl, const char* what)
{
	cl.add()("metadata-snap,m", po::value<std::string>()->implicit_value("")->value_name("block"),
	         cat("read the metadata snapshot ", what, ": the one the superblock holds, or the one at the block "
	             "given as -m<block> or --metadata-snap=<block>")
	             .c_str());
}

metadata_snap_choice metadata_snap_option(const command_line& cl)
{
	metadata_snap_choice choice;
	if (!cl.has("metadata-snap"))
		return choice;
	choice.use = true;
	auto where = cl.get<std::string>("metadata-snap");
	if (!where.empty())
		choice.block = parse_number(where, "--metadata-snap");
	return choice;
}

}
