// thin_sim: a dm-thin pool in user space, on image files: pool messages,
// I/O to thin devices, scripts of both, and workloads that fill metadata,
// all through the same path as the kernel's thin-pool target.
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/version.h"
#include "cli/options.h"
#include "cli/terminal_progress.h"
#include "cli/tool_main.h"
#include "sim/pool_commands.h"
#include "sim/script_runner.h"
#include "sim/summary.h"
#include "sim/workload.h"


using namespace thinmeta;
namespace po = cli::po;

namespace {

constexpr const char* commands_usage =
    "Usage: thin_sim COMMAND --metadata FILE --data FILE [pool options] [arguments]\n"
    "\n"
    "Runs a thin pool as the kernel's dm-thin target would, with image files as its metadata and\n"
    "data devices (their sizes are the devices' sizes). Commands:\n"
    "  create     format the metadata (creating the images with --metadata-size/--data-size)\n"
    "  message    send a pool message: create_thin, create_snap, delete, set_transaction_id,\n"
    "             reserve_metadata_snap, release_metadata_snap\n"
    "  write      write a pattern or a file to a thin device\n"
    "  read       read from a thin device (its sha256, or into a file)\n"
    "  discard    discard a range of a thin device\n"
    "  status     print the pool's status line, as dmsetup status does\n"
    "  run        run a script of operations, one a line (see thin_sim(8))\n"
    "  workload   run a generated workload (writes, snapshots, deletes, discards)\n"
    "\n"
    "'thin_sim COMMAND -h' lists a command's options.\n";

// A size in bytes: a number with an optional unit (k, m, g, t: powers of 1024).
uint64_t parse_size(const std::string& text, const std::string& option)
{
	std::string digits = text;
	uint64_t unit = 1;
	if (!text.empty()) {
		switch (text.back()) {
		case 'k': case 'K': unit = uint64_t(1) << 10; break;
		case 'm': case 'M': unit = uint64_t(1) << 20; break;
		case 'g': case 'G': unit = uint64_t(1) << 30; break;
		case 't': case 'T': unit = uint64_t(1) << 40; break;
		default: break;
		}
		if (unit != 1)
			digits.pop_back();
	}
	uint64_t n = cli::parse_number(digits, option);
	if (unit != 1 && n > UINT64_MAX / unit)
		throw po::error("option " + option + ": '" + text + "' is too large");
	return n * unit;
}

void add_pool_options(cli::command_line& cl)
{
	cl.add()("metadata", po::value<std::string>()->value_name("file"), "the metadata device (an image file)")(
	    "data", po::value<std::string>()->value_name("file"), "the data device (an image file)")(
	    "block-size", po::value<std::string>()->value_name("sectors"),
	    "data block size in 512-byte sectors, a multiple of 128 (default: as the metadata was formatted, "
	    "else 128)")("low-water-mark", po::value<std::string>()->value_name("blocks"),
	                 "free data blocks at which the pool raises its low water event (default 0)")(
	    "skip-block-zeroing", "do not zero newly provisioned blocks")("ignore-discard", "refuse discards")(
	    "no-discard-passdown", "unmap discarded blocks without discarding them on the data device")(
	    "read-only", "never change the metadata")("error-if-no-space",
	                                               "fail writes at once when the data device is full")(
	    "origin", po::value<std::vector<std::string>>()->value_name("dev:file"),
	    "give thin device DEV the read-only external origin FILE (repeatable)")(
	    "thin-size", po::value<std::string>()->value_name("bytes"),
	    "size of every thin device (default 1t, as 2^31 sectors)");
}

sim::pool_setup pool_setup_from(const cli::command_line& cl)
{
	sim::pool_setup setup;
	for (const char* required : {"metadata", "data"})
		if (!cl.has(required))
			throw po::error(std::string("--") + required + " is required");
	setup.metadata_path = cl.get<std::string>("metadata");
	setup.data_path = cl.get<std::string>("data");
	auto& c = setup.config;
	c.block_size = 0;
	if (cl.has("block-size")) {
		uint64_t bs = cli::parse_number(cl.get<std::string>("block-size"), "--block-size");
		if (bs > UINT32_MAX)
			throw po::error("option --block-size: too large");
		c.block_size = static_cast<uint32_t>(bs);
		if (!c.block_size)
			throw po::error("option --block-size: must not be 0");
	}
	if (cl.has("low-water-mark"))
		c.low_water_mark = cli::parse_number(cl.get<std::string>("low-water-mark"), "--low-water-mark");
	c.features.zero_new_blocks = !cl.has("skip-block-zeroing");
	c.features.discard_enabled = !cl.has("ignore-discard");
	c.features.discard_passdown = !cl.has("no-discard-passdown");
	c.features.read_only = cl.has("read-only");
	c.features.error_if_no_space = cl.has("error-if-no-space");
	if (cl.has("thin-size")) {
		uint64_t bytes = parse_size(cl.get<std::string>("thin-size"), "--thin-size");
		if (bytes % 512 || !bytes)
			throw po::error("option --thin-size: must be a positive multiple of 512 bytes");
		c.thin_sectors = bytes / 512;
	}
	if (cl.has("origin")) {
		for (const auto& o : cl.get<std::vector<std::string>>("origin")) {
			auto colon = o.find(':');
			if (colon == std::string::npos || colon == 0 || colon + 1 == o.size())
				throw po::error("option --origin: '" + o + "' is not DEV:FILE");
			setup.origins.push_back({cli::parse_number(o.substr(0, colon), "--origin"), o.substr(colon + 1)});
		}
	}
	return setup;
}

void add_range_options(cli::command_line& cl, bool with_length)
{
	cl.add()("device", po::value<std::string>()->value_name("id"), "the thin device")(
	    "offset", po::value<std::string>()->value_name("bytes"), "where to start (a multiple of 512; default 0)");
	if (with_length)
		cl.add()("length", po::value<std::string>()->value_name("bytes"), "how much (a multiple of 512)");
}

struct device_range {
	uint64_t dev = 0, offset = 0, length = 0;
};

device_range range_from(const cli::command_line& cl, bool need_length)
{
	device_range r;
	if (!cl.has("device"))
		throw po::error("--device is required");
	r.dev = cli::parse_number(cl.get<std::string>("device"), "--device");
	if (cl.has("offset"))
		r.offset = parse_size(cl.get<std::string>("offset"), "--offset");
	if (need_length) {
		if (!cl.has("length"))
			throw po::error("--length is required");
		r.length = parse_size(cl.get<std::string>("length"), "--length");
	}
	if (r.offset % 512 || r.length % 512)
		throw po::error("--offset and --length must be multiples of 512 bytes");
	return r;
}

void print_summary(const std::vector<std::string>& lines)
{
	for (const auto& line : lines)
		std::cerr << "thin_sim: " << line << "\n";
}

int create_command(int argc, char** argv)
{
	cli::command_line cl("thin_sim create", "--metadata FILE --data FILE [options]");
	add_pool_options(cl);
	cl.add()("metadata-size", po::value<std::string>()->value_name("bytes"),
	         "create or grow the metadata image to this size (e.g. 16m)")(
	    "data-size", po::value<std::string>()->value_name("bytes"), "create or grow the data image to this size (e.g. 1g)");
	if (!cl.parse(argc, argv))
		return cli::exit_ok;
	sim::pool_setup setup = pool_setup_from(cl);
	if (cl.has("metadata-size"))
		sim::prepare_image(setup.metadata_path, parse_size(cl.get<std::string>("metadata-size"), "--metadata-size"));
	if (cl.has("data-size"))
		sim::prepare_image(setup.data_path, parse_size(cl.get<std::string>("data-size"), "--data-size"));
	sim::create_pool(setup);
	return cli::exit_ok;
}

int message_command(int argc, char** argv)
{
	cli::command_line cl("thin_sim message", "--metadata FILE --data FILE [options] MESSAGE...");
	add_pool_options(cl);
	cl.allow_positionals(8);
	if (!cl.parse(argc, argv))
		return cli::exit_ok;
	sim::pool_setup setup = pool_setup_from(cl);
	std::string text;
	for (const auto& word : cl.positionals())
		text += (text.empty() ? "" : " ") + word;
	if (text.empty())
		throw po::error("no message given, e.g. 'create_thin 0'");
	sim::send_message(setup, text);
	return cli::exit_ok;
}

int status_command(int argc, char** argv)
{
	cli::command_line cl("thin_sim status", "--metadata FILE --data FILE [options]");
	add_pool_options(cl);
	if (!cl.parse(argc, argv))
		return cli::exit_ok;
	std::cout << sim::status_line(sim::pool_status_of(pool_setup_from(cl))) << "\n";
	return cli::exit_ok;
}

int write_command(int argc, char** argv)
{
	cli::command_line cl("thin_sim write",
	                     "--metadata FILE --data FILE --device ID [--offset BYTES] "
	                     "(--input FILE | --pattern BYTE --length BYTES) [options]");
	add_pool_options(cl);
	add_range_options(cl, true);
	cl.add()("input", po::value<std::string>()->value_name("file"), "write this file's bytes")(
	    "pattern", po::value<std::string>()->value_name("byte"), "write --length bytes of this value (0-255)");
	if (!cl.parse(argc, argv))
		return cli::exit_ok;
	sim::pool_setup setup = pool_setup_from(cl);
	if (cl.has("input") == cl.has("pattern"))
		throw po::error("give either --input or --pattern");
	if (cl.has("input")) {
		if (cl.has("length"))
			throw po::error("--length goes with --pattern; --input writes the whole file");
		device_range r = range_from(cl, false);
		sim::write_file(setup, r.dev, r.offset, cl.get<std::string>("input"));
	} else {
		device_range r = range_from(cl, true);
		uint64_t byte = cli::parse_number(cl.get<std::string>("pattern"), "--pattern");
		if (byte > 255)
			throw po::error("option --pattern: a byte is 0-255");
		sim::write_pattern(setup, r.dev, r.offset, r.length, static_cast<uint8_t>(byte));
	}
	return cli::exit_ok;
}

int read_command(int argc, char** argv)
{
	cli::command_line cl("thin_sim read",
	                     "--metadata FILE --data FILE --device ID [--offset BYTES] --length BYTES "
	                     "[--output FILE] [options]");
	add_pool_options(cl);
	add_range_options(cl, true);
	cl.add()("output", po::value<std::string>()->value_name("file"),
	         "write the bytes here instead of printing their sha256");
	if (!cl.parse(argc, argv))
		return cli::exit_ok;
	sim::pool_setup setup = pool_setup_from(cl);
	device_range r = range_from(cl, true);
	if (cl.has("output")) {
		sim::read_to_file(setup, r.dev, r.offset, r.length, cl.get<std::string>("output"));
	} else {
		std::string hex = sim::read_digest(setup, r.dev, r.offset, r.length);
		std::cout << "read " << r.dev << " " << r.offset << " " << r.length << " " << hex << "\n";
	}
	return cli::exit_ok;
}

int discard_command(int argc, char** argv)
{
	cli::command_line cl("thin_sim discard",
	                     "--metadata FILE --data FILE --device ID [--offset BYTES] --length BYTES [options]");
	add_pool_options(cl);
	add_range_options(cl, true);
	if (!cl.parse(argc, argv))
		return cli::exit_ok;
	sim::pool_setup setup = pool_setup_from(cl);
	device_range r = range_from(cl, true);
	sim::discard_range(setup, r.dev, r.offset, r.length);
	return cli::exit_ok;
}

void set_data_io(const cli::command_line& cl, sim::pool_setup& setup)
{
	if (!cl.has("data-io"))
		return;
	std::string mode = cl.get<std::string>("data-io");
	if (mode != "full" && mode != "none")
		throw po::error("option --data-io: full or none");
	setup.data_mode = mode == "none" ? sim::data_io::none : sim::data_io::full;
}

int run_command(int argc, char** argv)
{
	cli::command_line cl("thin_sim run", "--metadata FILE --data FILE [options] SCRIPT|-");
	add_pool_options(cl);
	cl.add()("quiet,q", "print no summary on stderr")(
	    "data-io", po::value<std::string>()->value_name("full|none"),
	    "none: leave the data image alone and read zeroes (metadata only; default full)");
	cl.allow_positionals(1);
	if (!cl.parse(argc, argv))
		return cli::exit_ok;
	sim::pool_setup setup = pool_setup_from(cl);
	set_data_io(cl, setup);
	std::string path = cl.single_input("a script file, or - for stdin");
	std::string script;
	if (path == "-") {
		script.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
	} else {
		std::ifstream in(path, std::ios::binary);
		if (!in)
			throw io_error(path, errno);
		script.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
	}
	bool quiet = cl.has("quiet");
	cli::terminal_progress progress(!quiet);
	sim::run_summary summary = sim::run_script(setup, script, std::cout, progress);
	progress.clear();
	std::cout.flush();
	if (!quiet)
		print_summary(sim::summary_lines(summary.operations, summary.failures, summary.stats, summary.usage));
	return summary.failures ? cli::exit_failure : cli::exit_ok;
}

unsigned parse_percent(const cli::command_line& cl, const char* option)
{
	uint64_t v = cli::parse_number(cl.get<std::string>(option), std::string("--") + option);
	if (v > 100)
		throw po::error(std::string("option --") + option + ": a percentage is 0-100");
	return static_cast<unsigned>(v);
}

int workload_command(int argc, char** argv)
{
	cli::command_line cl("thin_sim workload", "--metadata FILE --data FILE [options]");
	add_pool_options(cl);
	cl.add()("seed", po::value<std::string>()->value_name("n"), "seed of the random choices (default 1)")(
	    "volumes", po::value<std::string>()->value_name("n"), "thin volumes to create and write (default 1)")(
	    "span", po::value<std::string>()->value_name("blocks"),
	    "blocks written per volume (default: the data blocks / (volumes + 1))")(
	    "writes", po::value<std::string>()->value_name("n"),
	    "writes to do (default: until --metadata-target, or until the data is nearly full)")(
	    "write-blocks", po::value<std::string>()->value_name("n"), "blocks per write (default 1)")(
	    "sequential", po::value<std::string>()->value_name("percent"),
	    "writes that go on where the volume's last one ended (default 0: all random)")(
	    "snapshot-every", po::value<std::string>()->value_name("n"),
	    "take a snapshot of a volume every N writes (default 0: never)")(
	    "max-snapshots", po::value<std::string>()->value_name("n"),
	    "delete the oldest snapshot beyond this many (default 0: keep all)")(
	    "snapshot-writes", po::value<std::string>()->value_name("percent"),
	    "writes that go to a snapshot instead (default 0)")(
	    "discard-every", po::value<std::string>()->value_name("n"), "discard a range every N writes (default 0)")(
	    "flush-every", po::value<std::string>()->value_name("n"), "flush (commit) every N writes (default 128)")(
	    "metadata-target", po::value<std::string>()->value_name("percent"),
	    "stop when this much of the metadata device is used")(
	    "no-metadata-snap", "do not reserve a metadata snapshot halfway")(
	    "data-io", po::value<std::string>()->value_name("full|none"),
	    "full: write fill patterns to the data image (default none: metadata only)")(
	    "script-out", po::value<std::string>()->value_name("file"),
	    "also write the operations as a script (thin_sim run replays it)")("quiet,q", "print no summary on stderr");
	if (!cl.parse(argc, argv))
		return cli::exit_ok;
	sim::pool_setup setup = pool_setup_from(cl);
	setup.data_mode = sim::data_io::none;
	set_data_io(cl, setup);
	sim::workload_options o;
	auto number = [&](const char* option, uint64_t& field) {
		if (cl.has(option))
			field = cli::parse_number(cl.get<std::string>(option), std::string("--") + option);
	};
	number("seed", o.seed);
	number("volumes", o.volumes);
	number("span", o.span);
	number("writes", o.writes);
	number("write-blocks", o.write_blocks);
	number("snapshot-every", o.snapshot_every);
	number("max-snapshots", o.max_snapshots);
	number("discard-every", o.discard_every);
	number("flush-every", o.flush_every);
	if (cl.has("sequential"))
		o.sequential_percent = parse_percent(cl, "sequential");
	if (cl.has("snapshot-writes"))
		o.snapshot_write_percent = parse_percent(cl, "snapshot-writes");
	if (cl.has("metadata-target"))
		o.metadata_target_percent = parse_percent(cl, "metadata-target");
	o.metadata_snap = !cl.has("no-metadata-snap");

	std::ofstream script_file;
	if (cl.has("script-out")) {
		script_file.open(cl.get<std::string>("script-out"), std::ios::trunc);
		if (!script_file)
			throw io_error(cl.get<std::string>("script-out"), errno);
	}
	bool quiet = cl.has("quiet");
	cli::terminal_progress progress(!quiet);
	sim::workload_result r =
	    sim::run_workload(setup, o, std::cout, cl.has("script-out") ? &script_file : nullptr, progress);
	progress.clear();
	if (script_file.is_open()) {
		script_file.close();
		if (!script_file)
			throw error("writing the script failed");
	}
	if (!quiet) {
		print_summary({"workload: " + std::to_string(r.writes) + " writes; stopped because " + r.stopped_by});
		print_summary(sim::summary_lines(r.summary.operations, r.summary.failures, r.summary.stats, r.summary.usage));
	}
	return r.summary.failures ? cli::exit_failure : cli::exit_ok;
}

int sim_main(int argc, char** argv)
{
	if (argc < 2)
		throw po::error("no command given (create, message, write, read, discard, status, run, workload)");
	std::string command = argv[1];
	if (command == "-h" || command == "--help") {
		std::cout << commands_usage;
		return cli::exit_ok;
	}
	if (command == "-V" || command == "--version") {
		std::cout << version << "\n";
		return cli::exit_ok;
	}
	struct entry {
		const char* name;
		int (*fn)(int, char**);
	};
	static constexpr entry commands[] = {
	    {"create", create_command}, {"message", message_command}, {"write", write_command},
	    {"read", read_command},     {"discard", discard_command}, {"status", status_command},
	    {"run", run_command},       {"workload", workload_command}};
	for (const auto& c : commands)
		if (command == c.name)
			return c.fn(argc - 1, argv + 1);
	if (!command.empty() && command[0] == '-')
		throw po::error("unrecognised option '" + command + "' (the command comes first)");
	throw po::error("unknown command '" + command + "'");
}

}

int main(int argc, char** argv)
{
	return cli::run_tool("thin_sim", argc, argv, sim_main);
}
