#include "io/block_device.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/text.h"

namespace thinmeta::io {

namespace {

// Large requests are cut so a single pread never asks for more than this.
constexpr uint64_t max_request_bytes = 8u << 20;

// A block device, and an image file out of the page cache (see open), is
// read with O_DIRECT: a request costs its latency, tens of microseconds on
// an SSD or through a virtual disk, about the transfer of 64 KiB; so gaps
// of up to 16 blocks are read rather than skipped, and up to 32 requests
// are in flight at once (a level of a tree whose nodes lie far apart waits
// one latency, not one per node). Two batches are read at once, so the
// device has the next batch's requests while the last of one batch's
// complete. A cached file is read from the page cache, where a request
// costs barely more than copying a gap would: thin_check timed the same
// with gaps of 0 to 8 blocks.
constexpr read_policy device_read_policy{16, 32, true, 2};
constexpr read_policy file_read_policy{0, 1, false, 1};

// After a read of `bytes` into `iov`: the index of the first vector not
// yet full, that vector trimmed to what it still lacks.
size_t skip_filled(std::span<iovec> iov, size_t bytes)
{
	size_t k = 0;
	while (k < iov.size() && bytes >= iov[k].iov_len)
		bytes -= iov[k++].iov_len;
	if (bytes) {
		iov[k].iov_base = static_cast<uint8_t*>(iov[k].iov_base) + bytes;
		iov[k].iov_len -= bytes;
	}
	return k;
}

[[noreturn]] void fail_open(const std::string& path, int err)
{
	if (err == EBUSY)
		throw error(cat(path, ": the device is in use (is the pool active?); deactivate it first, "
		                      "or read a metadata snapshot with -m"));
	throw io_error(cat(path), err);
}

// Whether most of a file is out of the page cache, judged from the pages of
// 64 windows of 16 spread over it (too small to sample: no).
bool mostly_uncached(int fd, uint64_t size)
{
	constexpr uint64_t windows = 64, window_pages = 16;
	const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
	uint64_t nr_pages = size / page;
	if (nr_pages < windows * window_pages)
		return false;
	void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return false;
	unsigned char in_core[window_pages];
	uint64_t sampled = 0, resident = 0;
	for (uint64_t w = 0; w < windows; ++w) {
		uint64_t first = nr_pages / windows * w;
		if (::mincore(static_cast<uint8_t*>(map) + first * page, window_pages * page, in_core) < 0)
			continue;
		sampled += window_pages;
		for (unsigned char c : in_core)
			resident += c & 1;
	}
	::munmap(map, size);
	return sampled && resident * 2 < sampled;
}

}

block_device::block_device(std::string path, int fd, access mode, uint64_t size_bytes, bool is_block_device,
                           bool direct)
    : path_(std::move(path)), fd_(fd), mode_(mode), size_bytes_(size_bytes), nr_blocks_(size_bytes / block_size),
      is_block_device_(is_block_device)
{
	set_read_policy(direct ? device_read_policy : file_read_policy);
}

block_device::block_device(block_device&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)), mode_(other.mode_),
      size_bytes_(other.size_bytes_), nr_blocks_(other.nr_blocks_), is_block_device_(other.is_block_device_),
      policy_(other.policy_), gap_sink_(std::move(other.gap_sink_)), async_(std::move(other.async_))
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
		policy_ = other.policy_;
		gap_sink_ = std::move(other.gap_sink_);
		async_ = std::move(other.async_);
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
	// An image file mostly out of the page cache (a pool's metadata copied
	// off, checked after a reboot) is read as a device is, with O_DIRECT:
	// through the page cache each block would be read ahead, copied and
	// kept, and on a virtual machine a cold buffered read of sim-4g.bin
	// took 13.7 s where an O_DIRECT read took 2.6. Where the file system
	// refuses O_DIRECT, the file is read through the cache.
	bool direct = is_blk;
	if (!is_blk && mode == access::read_only && mostly_uncached(fd, size))
		direct = ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_DIRECT) == 0;
	return block_device(path, fd, mode, size, is_blk, direct);
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
	return block_device(path, fd, access::read_write, nr_blocks * block_size, false, false);
}

void block_device::check_in_range(block_address b, const char* what) const
{
	if (b >= nr_blocks_)
		throw error(cat(path_, ": ", what, " ", b, " is past the end of the metadata (", nr_blocks_, " blocks)"));
}

void block_device::read_bytes(uint64_t offset, uint64_t len, uint8_t* out) const
{
	while (len) {
		uint64_t chunk = std::min(len, max_request_bytes);
		iovec one{out, static_cast<size_t>(chunk)};
		read_vector({&one, 1}, offset);
		offset += chunk;
		out += chunk;
		len -= chunk;
	}
}

void block_device::set_read_policy(const read_policy& policy)
{
	policy_ = policy;
	// A gap is one vector into gap_sink_; in a huge page it is one segment
	// of the request, where in small pages it would be one per block (the
	// loop device takes 128 segments per request, so gaps in small pages
	// cut a request of scattered leaves at a few hundred kilobytes).
	constexpr uint64_t huge_page_blocks = aligned_buffer::huge_page_bytes / block_size;
	gap_sink_ = aligned_buffer(policy.max_gap_blocks ? std::max(policy.max_gap_blocks, huge_page_blocks) : 0);
	async_.reset();
	if (policy.in_flight > 1) {
		try {
			async_ = std::make_unique<async_reads>(policy.in_flight, policy.batches_in_flight);
		} catch (const io_error&) {
			// No asynchronous I/O here: one request at a time still works.
		}
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
	// A span of the device from blocks[i] on is one request: each wanted
	// block into its slot of `out`, each short gap between wanted blocks
	// into gap_sink_ (read, never looked at). A block that repeats or goes
	// back starts a new span.
	std::vector<iovec> iov;
	iov.reserve(2 * blocks.size());  // a gap and a slot per block at most: never moves
	std::vector<vector_read> spans;
	size_t i = 0;
	while (i < blocks.size()) {
		block_address first = blocks[i];
		block_address next = first;  // the block after the span so far
		size_t first_iov = iov.size();
		size_t j = i;
		for (; j < blocks.size(); ++j) {
			block_address b = blocks[j];
			check_in_range(b);
			if (b < next || b - next > policy_.max_gap_blocks ||
			    (b + 1 - first) * block_size > max_request_bytes || iov.size() - first_iov + 2 > max_iovecs)
				break;
			if (b > next)
				iov.push_back({gap_sink_.data(), (b - next) * block_size});
			// Slots of consecutive blocks are consecutive: one vector.
			if (j > i && b == next)
				iov.back().iov_len += block_size;
			else
				iov.push_back({out + j * block_size, block_size});
			next = b + 1;
		}
		spans.push_back({first * block_size, std::span(iov).subspan(first_iov), 0});
		i = j;
	}

	if (!async_ || spans.size() < 2) {
		for (auto& span : spans)
			read_vector(span.iov, span.offset);
		return;
	}
	async_->run(fd_, spans);
	for (auto& span : spans) {
		if (span.result < 0)
			throw io_error(cat(path_, ": read of block ", span.offset / block_size, " failed"),
			               static_cast<int>(-span.result));
		// A short read: the rest one request at a time.
		size_t k = skip_filled(span.iov, static_cast<size_t>(span.result));
		if (k < span.iov.size())
			read_vector(span.iov.subspan(k), span.offset + static_cast<uint64_t>(span.result));
	}
}

void block_device::read_vector(std::span<iovec> iov, uint64_t offset) const
{
	size_t k = 0;
	while (k < iov.size()) {
		int count = static_cast<int>(iov.size() - k);
		ssize_t n = ::preadv(fd_, iov.data() + k, count, static_cast<off_t>(offset));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			throw io_error(cat(path_, ": read of block ", offset / block_size, " failed"), errno);
		}
		if (n == 0)
			throw error(cat(path_, ": unexpected end of file at block ", offset / block_size,
			                " (the file is truncated?)"));
		offset += static_cast<uint64_t>(n);
		k += skip_filled(iov.subspan(k), static_cast<size_t>(n));
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
