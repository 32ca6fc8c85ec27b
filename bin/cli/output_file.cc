#include "cli/output_file.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "base/error.h"
#include "base/text.h"

namespace thinmeta::cli {

namespace {
std::atomic<bool> reader_gone{false};
}

bool output_reader_gone()
{
	return reader_gone.load();
}

fd_streambuf::fd_streambuf(int fd, size_t buffer_size) : fd_(fd), buffer_(buffer_size)
{
	setp(buffer_.data(), buffer_.data() + buffer_.size());
}

fd_streambuf::~fd_streambuf()
{
	drain();
}

bool fd_streambuf::drain()
{
	const char* p = pbase();
	size_t left = static_cast<size_t>(pptr() - pbase());
	while (left && !error_) {
		ssize_t n = ::write(fd_, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error_ = errno;
			if (error_ == EPIPE)
				reader_gone = true;
			break;
		}
		p += n;
		left -= static_cast<size_t>(n);
	}
	setp(buffer_.data(), buffer_.data() + buffer_.size());
	return !error_;
}

fd_streambuf::int_type fd_streambuf::overflow(int_type c)
{
	if (!drain())
		return traits_type::eof();
	if (!traits_type::eq_int_type(c, traits_type::eof())) {
		*pptr() = traits_type::to_char_type(c);
		pbump(1);
	}
	return traits_type::not_eof(c);
}

std::streamsize fd_streambuf::xsputn(const char* s, std::streamsize n)
{
	std::streamsize done = 0;
	while (done < n) {
		std::streamsize room = epptr() - pptr();
		if (room == 0) {
			if (!drain())
				return done;
			continue;
		}
		std::streamsize chunk = std::min(room, n - done);
		traits_type::copy(pptr(), s + done, static_cast<size_t>(chunk));
		pbump(static_cast<int>(chunk));
		done += chunk;
	}
	return done;
}

int fd_streambuf::sync()
{
	return drain() ? 0 : -1;
}

output_file::output_file(const std::string& path)
    : path_(path.empty() || path == "-" ? std::string("standard output") : path),
      fd_(path.empty() || path == "-" ? STDOUT_FILENO : ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)),
      owned_(!(path.empty() || path == "-")), stream_(nullptr)
{
	if (fd_ < 0)
		throw io_error(path, errno);
	buf_ = std::make_unique<fd_streambuf>(fd_);
	stream_.rdbuf(buf_.get());
}

output_file::~output_file()
{
	stream_.flush();
	buf_.reset();
	if (owned_)
		::close(fd_);
}

void output_file::finish()
{
	stream_.flush();
	if (int err = buf_->error()) {
		if (err == EPIPE)
			throw output_closed{};
		throw io_error(cat("cannot write ", path_), err);
	}
	if (owned_ && ::fsync(fd_) < 0 && errno != EINVAL)
		throw io_error(cat("cannot write ", path_), errno);
}

}
