#include "sim/data_device.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "base/error.h"
#include "base/text.h"

namespace thinmeta::sim {

namespace {

constexpr uint64_t zero_chunk = 1 << 20;

int open_file(const std::string& path, int flags)
{
	int fd = ::open(path.c_str(), flags | O_CLOEXEC);
	if (fd < 0)
		throw io_error(path, errno);
	struct stat st;
	if (::fstat(fd, &st) < 0) {
		int err = errno;
		::close(fd);
		throw io_error(path, err);
	}
	if (S_ISDIR(st.st_mode)) {
		::close(fd);
		throw error(cat(path, ": is a directory, not an image file"));
	}
	return fd;
}

uint64_t file_size(int fd, const std::string& path)
{
	struct stat st;
	if (::fstat(fd, &st) < 0)
		throw io_error(path, errno);
	return static_cast<uint64_t>(st.st_size);
}

void pwrite_all(int fd, const std::string& path, uint64_t offset, const uint8_t* data, uint64_t length)
{
	while (length) {
		ssize_t n = ::pwrite(fd, data, length, static_cast<off_t>(offset));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			throw io_error(cat(path, ": write of ", length, " bytes at offset ", offset), errno);
		}
		data += n;
		offset += static_cast<uint64_t>(n);
		length -= static_cast<uint64_t>(n);
	}
}

// Reads what the file holds; bytes past its end are zeroes.
void pread_all(int fd, const std::string& path, uint64_t offset, uint8_t* out, uint64_t length)
{
	while (length) {
		ssize_t n = ::pread(fd, out, length, static_cast<off_t>(offset));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			throw io_error(cat(path, ": read of ", length, " bytes at offset ", offset), errno);
		}
		if (n == 0) {
			std::memset(out, 0, length);
			return;
		}
		out += n;
		offset += static_cast<uint64_t>(n);
		length -= static_cast<uint64_t>(n);
	}
}

}

data_device::data_device(const std::string& path, data_io mode) : path_(path), mode_(mode)
{
	fd_ = open_file(path, O_RDWR);
}

data_device::data_device(data_device&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), mode_(other.mode_), punch_works_(other.punch_works_)
{
	other.fd_ = -1;
}

data_device::~data_device()
{
	if (fd_ >= 0)
		::close(fd_);
}

uint64_t data_device::size_bytes() const
{
	return file_size(fd_, path_);
}

void data_device::write(uint64_t offset, const uint8_t* data, uint64_t length)
{
	if (mode_ == data_io::full)
		pwrite_all(fd_, path_, offset, data, length);
}

void data_device::read(uint64_t offset, uint8_t* out, uint64_t length) const
{
	if (mode_ == data_io::full)
		pread_all(fd_, path_, offset, out, length);
	else
		std::memset(out, 0, length);
}

void data_device::zero(uint64_t offset, uint64_t length)
{
	if (mode_ != data_io::full || !length)
		return;
	if (punch_works_) {
		if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
		                static_cast<off_t>(length)) == 0)
			return;
		if (errno != EOPNOTSUPP && errno != ENOSYS)
			throw io_error(cat(path_, ": punching a hole of ", length, " bytes at offset ", offset), errno);
		punch_works_ = false;
	}
	std::vector<uint8_t> zeroes(std::min(length, zero_chunk), 0);
	while (length) {
		uint64_t n = std::min<uint64_t>(length, zeroes.size());
		pwrite_all(fd_, path_, offset, zeroes.data(), n);
		offset += n;
		length -= n;
	}
}

external_origin::external_origin(const std::string& path) : path_(path)
{
	fd_ = open_file(path, O_RDONLY);
	size_sectors_ = file_size(fd_, path) / 512;
}

external_origin::external_origin(external_origin&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), size_sectors_(other.size_sectors_)
{
	other.fd_ = -1;
}

external_origin::~external_origin()
{
	if (fd_ >= 0)
		::close(fd_);
}

void external_origin::read(uint64_t offset, uint8_t* out, uint64_t length) const
{
	pread_all(fd_, path_, offset, out, length);
}

void fill_source::bytes(uint64_t, uint64_t length, uint8_t* out)
{
	std::memset(out, value_, length);
}

}
