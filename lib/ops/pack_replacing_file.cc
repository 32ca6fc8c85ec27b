#include "ops/pack_replacing_file.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/text.h"

namespace thinmeta::ops {

replacing_file::replacing_file(const std::string& final_path) : final_(final_path)
{
	struct stat st;
	if (::stat(final_.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
		throw error(cat(final_, ": exists and is not a regular file; give the name of a file to write"));
	// A new name beside the final one, created with the usual permissions
	// (0666 less the umask, as for any new file).
	for (unsigned attempt = 0;; ++attempt) {
		temp_ = cat(final_, ".partial-", ::getpid(), "-", attempt);
		fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd_ >= 0)
			return;
		if (errno != EEXIST || attempt == 1000)
			throw io_error(cat(final_, ": cannot create a file beside it"), errno);
	}
}

replacing_file::~replacing_file()
{
	if (fd_ >= 0) {
		::close(fd_);
		::unlink(temp_.c_str());
	}
}

void replacing_file::write_all(const void* data, size_t len)
{
	auto p = static_cast<const char*>(data);
	while (len) {
		ssize_t n = ::write(fd_, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			throw io_error(cat("cannot write ", final_), errno);
		}
		p += n;
		len -= static_cast<size_t>(n);
	}
}

void replacing_file::write_at(uint64_t offset, const void* data, size_t len)
{
	auto p = static_cast<const char*>(data);
	while (len) {
		ssize_t n = ::pwrite(fd_, p, len, static_cast<off_t>(offset));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			throw io_error(cat("cannot write ", final_), errno);
		}
		p += n;
		offset += static_cast<uint64_t>(n);
		len -= static_cast<size_t>(n);
	}
}

void replacing_file::set_size(uint64_t bytes)
{
	if (::ftruncate(fd_, static_cast<off_t>(bytes)) < 0)
		throw io_error(cat(final_, ": cannot make it ", bytes, " bytes long"), errno);
}

void replacing_file::commit()
{
	if (::fsync(fd_) < 0)
		throw io_error(cat("cannot write ", final_), errno);
	if (::rename(temp_.c_str(), final_.c_str()) < 0)
		throw io_error(cat("cannot move ", temp_, " to ", final_), errno);
	::close(fd_);
	fd_ = -1;
}

}
