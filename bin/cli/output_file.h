// Where a tool writes its report or dump: a file (-o) or stdout, through a
// large buffer. A reader that goes away (`thin_dump | head -1`) is noticed so
// the tool can end quietly with status 0.
#pragma once

#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

namespace thinmeta::cli {

// Thrown when the output's reader has gone away.
struct output_closed {};

class fd_streambuf : public std::streambuf {
public:
	explicit fd_streambuf(int fd, size_t buffer_size = 1 << 20);
	~fd_streambuf() override;
	int error() const { return error_; }

protected:
	int_type overflow(int_type c) override;
	int sync() override;
	std::streamsize xsputn(const char* s, std::streamsize n) override;

private:
	bool drain();
	int fd_;
	int error_ = 0;
	std::vector<char> buffer_;
};

class output_file {
public:
	// An empty path or "-" is stdout.
	explicit output_file(const std::string& path);
	~output_file();

	std::ostream& stream() { return stream_; }
	// Flushes everything; throws output_closed if the reader went away and
	// thinmeta::error if the write failed otherwise.
	void finish();

private:
	std::string path_;
	int fd_;
	bool owned_;
	std::unique_ptr<fd_streambuf> buf_;
	std::ostream stream_;
};

// True once a write to any output found its reader gone (EPIPE).
bool output_reader_gone();

}
