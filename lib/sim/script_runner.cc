#include "sim/script_runner.h"

#include <cerrno>
#include <charconv>
#include <string>
#include <vector>

#include "sim/errno_text.h"
#include "sim/sha256.h"

namespace thinmeta::sim {

using thin::pool_error;

namespace {

// One write() of dd moves at most this much (larger writes are cut into
// equal power-of-two chunks, each its own system call).
constexpr uint64_t dd_chunk_max = 8 << 20;

std::vector<std::string_view> words_of(std::string_view line)
{
	std::vector<std::string_view> words;
	size_t i = 0;
	while (i < line.size()) {
		while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\v' ||
		                           line[i] == '\f'))
			++i;
		size_t j = i;
		while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r' && line[j] != '\v' &&
		       line[j] != '\f')
			++j;
		if (j > i)
			words.push_back(line.substr(i, j - i));
		i = j;
	}
	return words;
}

std::string lower(std::string_view s)
{
	std::string out(s);
	for (char& c : out)
		if (c >= 'A' && c <= 'Z')
			c = char(c - 'A' + 'a');
	return out;
}

bool all_digits(std::string_view s)
{
	if (s.empty())
		return false;
	for (char c : s)
		if (c < '0' || c > '9')
			return false;
	return true;
}

bool parse_number(std::string_view s, uint64_t& out)
{
	auto r = std::from_chars(s.data(), s.data() + s.size(), out);
	return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// A device id as the kernel reads one: an optional '+', decimal digits.
bool parse_device_id(std::string_view s, uint64_t& out)
{
	if (!s.empty() && s.front() == '+')
		s.remove_prefix(1);
	return all_digits(s) && parse_number(s, out) && out <= max_thin_id;
}

class digest_sink final : public data_sink {
public:
	void take(const uint8_t* data, uint64_t length) override { digest.update(data, length); }
	sha256 digest;
};

std::string empty_digest()
{
	return sha256().finish_hex();
}

}

script_runner::script_runner(pool_session& session, std::ostream& out)
    : session_(session), pool_(session.pool()), out_(out)
{
	for (uint64_t dev : pool_.devices_in_metadata())
		activate(dev, session_.origin_for(dev));
}

void script_runner::activate(uint64_t dev, const external_origin* origin)
{
	origin_of_[dev] = origin;
	pool_.activate(dev, origin);
}

void script_runner::fail(uint64_t number, int errno_value)
{
	out_ << "error " << number << ": " << errno_text(errno_value) << "\n";
	++failures_;
}

bool script_runner::active_or_fail(uint64_t number, uint64_t dev)
{
	if (pool_.is_active(dev))
		return true;
	fail(number, ENODEV);
	return false;
}

void script_runner::run_line(uint64_t number, std::string_view line)
{
	line = line.substr(0, line.find('#'));
	std::vector<std::string_view> words = words_of(line);
	if (words.empty())
		return;
	++operations_;
	std::string op = lower(words[0]);
	std::vector<std::string_view> args(words.begin() + 1, words.end());
	try {
		if (op == "write" || op == "discard" || op == "read") {
			io_line(number, op, args);
		} else if (op == "flush" || op == "status" || op == "crash") {
			if (!args.empty()) {
				fail(number, EINVAL);
				return;
			}
			std::set<uint64_t> flushed;
			flushed.swap(touched_);
			if (op == "flush") {
				for (uint64_t dev : flushed)
					if (pool_.is_active(dev))
						pool_.flush(dev);
			} else if (op == "status") {
				out_ << status_line(pool_.status()) << "\n";
			} else {
				pool_.crash();
			}
		} else {
			std::string text;
			for (auto w : words)
				text += (text.empty() ? "" : " ") + std::string(w);
			message_line(op, args, text);
		}
	} catch (const pool_error& e) {
		fail(number, e.errno_value());
	}
}

void script_runner::io_line(uint64_t number, std::string_view op, const std::vector<std::string_view>& args)
{
	size_t want = op == "write" ? 4 : 3;
	uint64_t v[4] = {};
	bool ok = args.size() == want;
	for (size_t i = 0; ok && i < want; ++i)
		ok = all_digits(args[i]) && parse_number(args[i], v[i]);
	ok = ok && v[0] <= max_thin_id && v[1] % 512 == 0 && v[2] % 512 == 0 && (op != "write" || v[3] <= 255);
	if (!ok) {
		fail(number, EINVAL);
		return;
	}
	uint64_t dev = v[0], offset = v[1], length = v[2];
	if (op == "write") {
		touched_.insert(dev);
		if (!length || !active_or_fail(number, dev))
			return;
		fill_source fill{static_cast<uint8_t>(v[3])};
		uint64_t chunk = length;
		if (chunk > dd_chunk_max)
			for (chunk = dd_chunk_max; length % chunk;)
				chunk /= 2;
		for (uint64_t done = 0; done < length; done += chunk)
			pool_.write(dev, offset + done, chunk, fill);
	} else if (op == "discard") {
		touched_.insert(dev);
		if (length && active_or_fail(number, dev))
			pool_.discard(dev, offset, length);
	} else if (active_or_fail(number, dev)) {
		std::string hex;
		if (length) {
			digest_sink sink;
			pool_.read(dev, offset, length, sink);
			hex = sink.digest.finish_hex();
		} else {
			hex = empty_digest();
		}
		out_ << "read " << dev << " " << offset << " " << length << " " << hex << "\n";
	}
}

// A pool message, sent as written; creating a device activates it,
// deleting one deactivates it first (and again if the message fails).
void script_runner::message_line(std::string_view op, const std::vector<std::string_view>& args,
                                 std::string_view text)
{
	uint64_t dev = 0, origin = 0;
	if (op == "create_thin" && args.size() == 1 && parse_device_id(args[0], dev)) {
		pool_.message(text);
		activate(dev, session_.origin_for(dev));
	} else if (op == "create_snap" && args.size() == 2 && parse_device_id(args[0], dev) &&
	           parse_device_id(args[1], origin)) {
		pool_.message(text);
		const external_origin* own = session_.origin_for(dev);
		auto inherited = origin_of_.find(origin);
		activate(dev, own ? own : inherited != origin_of_.end() ? inherited->second : nullptr);
	} else if (op == "delete" && args.size() == 1 && parse_device_id(args[0], dev)) {
		bool was_active = pool_.is_active(dev);
		if (was_active)
			pool_.deactivate(dev);
		try {
			pool_.message(text);
		} catch (const pool_error&) {
			if (was_active)
				activate(dev, origin_of_[dev]);
			throw;
		}
	} else {
		pool_.message(text);
	}
}

void script_runner::finish()
{
	pool_.close();
}

run_summary run_script(const pool_setup& setup, std::string_view script, std::ostream& out,
                       progress_sink& progress)
{
	pool_session session(setup);
	script_runner runner(session, out);
	run_summary summary;
	uint64_t total = 0;
	for (char c : script)
		total += c == '\n';
	size_t pos = 0;
	while (pos < script.size()) {
		size_t end = script.find('\n', pos);
		if (end == std::string_view::npos)
			end = script.size();
		runner.run_line(++summary.lines, script.substr(pos, end - pos));
		if ((summary.lines & 1023) == 0)
			progress.update("script lines", summary.lines, total);
		pos = end + 1;
	}
	runner.finish();
	summary.operations = runner.operations();
	summary.failures = runner.failures();
	summary.stats = session.pool().stats();
	summary.usage = session.pool().usage();
	return summary;
}

}
