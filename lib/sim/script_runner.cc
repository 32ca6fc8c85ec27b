#include "sim/script_runner.h"

#include <cerrno>
#include <algorithm>
#include <charconv>
#include <cstring>
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
// busybox dd takes buffers smaller than a page from malloc(), not aligned
// for O_DIRECT: the write fails with EINVAL and dd goes on without
// O_DIRECT, through the thin device's page cache (4 KiB blocks).
constexpr uint64_t page_bytes = 4096;

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

class buffer_sink final : public data_sink {
public:
	explicit buffer_sink(uint8_t* out) : out_(out) {}
	void take(const uint8_t* data, uint64_t length) override
	{
		std::memcpy(out_, data, length);
		out_ += length;
	}

private:
	uint8_t* out_;
};

// The bytes of a write widened to whole pages: the fill byte inside the
// write, what the pages held before outside it.
class page_source final : public data_source {
public:
	page_source(uint64_t begin, uint64_t write_begin, uint64_t write_end, uint8_t fill, const uint8_t* head,
	            const uint8_t* tail, uint64_t tail_begin)
	    : begin_(begin), write_begin_(write_begin), write_end_(write_end), fill_(fill), head_(head),
	      tail_(tail), tail_begin_(tail_begin)
	{
	}
	void bytes(uint64_t position, uint64_t length, uint8_t* out) override
	{
		for (uint64_t i = 0; i < length; ++i) {
			uint64_t at = begin_ + position + i;
			if (at >= write_begin_ && at < write_end_)
				out[i] = fill_;
			else if (at < write_begin_)
				out[i] = head_[at - begin_];
			else
				out[i] = tail_[at - tail_begin_];
		}
	}

private:
	uint64_t begin_, write_begin_, write_end_;
	uint8_t fill_;
	const uint8_t* head_;
	const uint8_t* tail_;
	uint64_t tail_begin_;
};

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
		uint64_t chunk = length;
		if (chunk > dd_chunk_max)
			for (chunk = dd_chunk_max; length % chunk;)
				chunk /= 2;
		if (chunk < page_bytes) {
			write_through_page_cache(dev, offset, length, static_cast<uint8_t>(v[3]));
			return;
		}
		fill_source fill{static_cast<uint8_t>(v[3])};
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

// A write through the page cache: the first and last pages it touches are
// read through the device (a read-modify-write), the dirty pages are
// written back whole when dd closes the device. Errors of the write-back
// reach no one: close() does not report them.
void script_runner::write_through_page_cache(uint64_t dev, uint64_t offset, uint64_t length, uint8_t fill)
{
	uint64_t device_bytes = pool_.config().thin_sectors * 512;
	if (offset >= device_bytes)
		throw pool_error(ENOSPC, "write past the end of the device");
	uint64_t end = std::min(offset + length, device_bytes);
	uint64_t begin = offset / page_bytes * page_bytes;
	uint64_t tail_begin = (end - 1) / page_bytes * page_bytes;
	uint64_t last = std::min(tail_begin + page_bytes, device_bytes);
	uint8_t head[page_bytes] = {}, tail[page_bytes] = {};
	if (begin < offset || end < begin + page_bytes) {
		buffer_sink sink(head);
		pool_.read(dev, begin, std::min(page_bytes, device_bytes - begin), sink);
	}
	if (tail_begin != begin && end < last) {
		buffer_sink sink(tail);
		pool_.read(dev, tail_begin, last - tail_begin, sink);
	}
	if (tail_begin == begin)
		std::memcpy(tail, head, page_bytes);
	page_source source(begin, offset, end, fill, head, tail, tail_begin);
	try {
		pool_.write(dev, begin, last - begin, source);
	} catch (const pool_error&) {
	}
	if (end < offset + length)
		throw pool_error(ENOSPC, "write runs past the end of the device");
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
