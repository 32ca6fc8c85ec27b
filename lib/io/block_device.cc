#include "io/block_device.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

#include "base/error.h"
#include "base/text.h"

namespace thinmeta::io {

namespace {

// Large requests are cut so a single pread never asks for more than this.
constexpr uint64_t max_request_bytes = 8u << 20;

[[noreturn]] void fail_open(const std::string& path, int err)
{
	if (err == EBUSY)
		throw error(cat(path, ": the device is in use (is the pool active?); deactivate it first, "
		                      "or read a metadata snapshot with -m"));
	throw io_error(cat(path), err);
}

}

block_device::block_device(std::string path, int fd, access mode, uint64_t size_bytes, bool is_block_device)
    : path_(std::move(path)), fd_(fd), mode_(mode), size_bytes_(size_bytes), nr_blocks_(size_bytes / block_size),
      is_block_device_(is_block_device)
{
}

block_device::block_device(block_device&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)), mode_(other.mode_),
      size_bytes_(other.size_bytes_), nr_blocks_(other.nr_blocks_), is_block_device_(other.is_block_device_)
{
}

block_device& block_device::operator=(block_device&& other) noexcept
{
	if (this != &other) {
		if (fd_ >= 0)
			::close(fd_);
		path_ = std::move(other.path_);
		fd_ = std::exchange(other.fd_, -1);
		mode_ = other.mode_;
		size_bytes_ = other.size_bytes_;
		nr_blocks_ = other.nr_blocks_;
		is_block_device_ = other.is_block_device_;
	}
	return *this;
}

block_device::~block_device()
{
	if (fd_ >= 0)
		::close(fd_);
}

block_device block_device::open(const std::string& path, access mode, sharing share)
{
	struct stat st;
	if (::stat(path.c_str(), &st) < 0)
		throw io_error(path, errno);
	if (S_ISDIR(st.st_mode))
		throw error(cat(path, ": is a directory, not a metadata device or image file"));
	bool is_blk = S_ISBLK(st.st_mode);
	if (!is_blk && !S_ISREG(st.st_mode))
		throw error(cat(path, ": is neither a block device nor a regular file"));

	int flags = O_CLOEXEC | (mode == access::read_write ? O_RDWR : O_RDONLY);
	if (is_blk) {
		// The kernel writes metadata below the page cache (dm-bufio); read
		// around it so we never see stale blocks.
		flags |= O_DIRECT;
		if (share == sharing::exclusive)
			flags |= O_EXCL;
	}
	int fd = ::open(path.c_str(), flags);
	if (fd < 0)
		fail_open(path, errno);

	uint64_t size = static_cast<uint64_t>(st.st_size);
	if (is_blk && ::ioctl(fd, BLKGETSIZE64, &size) < 0) {
		int err = errno;
		::close(fd);
		throw io_error(cat(path, ": cannot read the device size"), err);
	}
	return block_device(path, fd, mode, size, is_blk);
}

block_device block_device::create_file(const std::string& path, uint64_t nr_blocks)
{
	int fd = ::open(path.c_str(), O_CLOEXEC | O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		throw io_error(path, errno);
	if (::ftruncate(fd, static_cast<off_t>(nr_blocks * block_size)) < 0) {
		int err = errno;
		::close(fd);
		throw io_error(cat(path, ": cannot set the file size"), err);
	}
	return block_device(path, fd, access::read_write, nr_blocks * block_size, false);
}

void block_device::check_in_range(block_address b, const char* what) const
{
	if (b >= nr_blocks_)
		throw error(cat(path_, ": ", what, " ", b, " is past the end of the metadata (", nr_blocks_, " blocks)"));
}

void block_device::read_bytes(uint64_t offset, uint64_t len, uint8_t* out) const
{
	while (len) {
		size_t chunk = static_cast<size_t>(std::min(len, max_request_bytes));
		ssize_t n = ::pread(fd_, out, chunk, static_cast<off_t>(offset));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			throw io_error(cat(path_, ": read of block ", offset / block_size, " failed"), errno);
		}
		if (n == 0)
			throw error(cat(path_, ": unexpected end of file at block ", offset / block_size,
			                " (the file is truncated?)"));
		offset += static_cast<uint64_t>(n);
		out += n;
		len -= static_cast<uint64_t>(n);
	}
}

void block_device::read_range(block_address first, uint64_t count, uint8_t* out) const
{
	if (!count)
		return;
	check_in_range(first + count - 1);
	read_bytes(first * block_size, count * block_size, out);
}

void block_device::read_blocks(std::span<const block_address> blocks, uint8_t* out) const
{
	size_t i = 0;
	while (i < blocks.size()) {
		size_t j = i + 1;
		while (j < blocks.size() && blocks[j] == blocks[j - 1] + 1)
			++j;
		check_in_range(blocks[i]);
		read_range(blocks[i], j - i, out + i * block_size);
		i = j;
	}
}

void block_device::write_range(block_address first, uint64_t count, const uint8_t* data)
{
	if (!count)
		return;
	check_in_range(first + count - 1);
	uint64_t offset = first * block_size;
	uint64_t len = count * block_size;
	while (len) {
		size_t chunk = static_cast<size_t>(std::min(len, max_request_bytes));
		ssize_t n = ::pwrite(fd_, data, chunk, static_cast<off_t>(offset));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			throw io_error(cat(path_, ": write of block ", offset / block_size, " failed"), errno);
		}
		offset += static_cast<uint64_t>(n);
		data += n;
		len -= static_cast<uint64_t>(n);
	}
}

void block_device::flush()
{
	if (::fdatasync(fd_) < 0)
		throw io_error(cat(path_, ": flush failed"), errno);
}

}
