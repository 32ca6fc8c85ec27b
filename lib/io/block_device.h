// A metadata device or image file seen as an array of 4 KiB blocks: opening
// with the checks users need (missing, directory, too small, in use), and
// reads and writes of many blocks in few system calls.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <sys/uio.h>

#include "io/aligned_buffer.h"
#include "io/async_reads.h"
#include "io/block.h"
#include "io/block_store.h"

namespace thinmeta::io {

enum class access { read_only, read_write };

struct read_policy {
	// Unwanted blocks read between two wanted ones to fetch both at once.
	uint64_t max_gap_blocks = 0;
	// Requests in flight at once; 1 (or 0): one after another.
	unsigned in_flight = 1;
	// Reads wait for the disk (rather than copy from the page cache), so
	// work on what was read is better done on another thread than the one
	// reading (see read_ahead).
	bool reads_wait = false;
	// Batches read_ahead reads at once, each its own requests in flight.
	unsigned batches_in_flight = 1;
};

// exclusive: a block device is opened with O_EXCL, so one the kernel is using
// (an active pool's metadata) is refused. shared: no O_EXCL, for reading a
// metadata snapshot of a live pool.
enum class sharing { exclusive, shared };

class block_device final : public block_store {
public:
	// A regular file opened read-only and mostly out of the page cache is
	// read with O_DIRECT, as a block device is (where its file system
	// allows).
	static block_device open(const std::string& path, access mode, sharing share = sharing::exclusive);
	// Creates (or truncates) a regular file of the given size.
	static block_device create_file(const std::string& path, uint64_t nr_blocks);

	block_device(block_device&& other) noexcept;
	block_device& operator=(block_device&& other) noexcept;
	block_device(const block_device&) = delete;
	block_device& operator=(const block_device&) = delete;
	~block_device() override;

	const std::string& path() const { return path_; }
	uint64_t nr_blocks() const override { return nr_blocks_; }
	uint64_t size_bytes() const { return size_bytes_; }
	bool is_block_device() const { return is_block_device_; }
	bool writable() const { return mode_ == access::read_write; }
	int fd() const { return fd_; }

	// Reads `blocks` (ascending, or at least mostly) into consecutive 4 KiB
	// slots of `out`; blocks close together on the device (runs, and short
	// gaps between them) come in one request. `out` must be block-aligned
	// (see aligned_buffer).
	void read_blocks(std::span<const block_address> blocks, uint8_t* out) const;
	// How read_blocks turns blocks into requests; set for the kind of device
	// when opened (see block_device.cc), changed for tuning and tests.
	void set_read_policy(const read_policy& policy);
	const read_policy& policy() const { return policy_; }
	// Reads blocks [first, first + count) into out.
	void read_range(block_address first, uint64_t count, uint8_t* out) const override;
	void read_block(block_address b, uint8_t* out) const { read_range(b, 1, out); }

	void write_range(block_address first, uint64_t count, const uint8_t* data) override;
	void write_block(block_address b, const uint8_t* data) { write_range(b, 1, data); }
	// Makes every write so far durable.
	void flush() override;

	// Throws unless b < nr_blocks(); `what` names the structure that refers to b.
	void check_in_range(block_address b, const char* what = "block") const;

private:
	// direct: opened with O_DIRECT (a block device, or a file mostly out of
	// the page cache), and so read with a device's policy.
	block_device(std::string path, int fd, access mode, uint64_t size_bytes, bool is_block_device, bool direct);
	void read_bytes(uint64_t offset, uint64_t len, uint8_t* out) const;
	// One request for the vectors, repeated until all are filled.
	void read_vector(std::span<iovec> iov, uint64_t offset) const;

	// Vectors in one request: IOV_MAX on Linux.
	static constexpr size_t max_iovecs = 1024;

	std::string path_;
	int fd_ = -1;
	access mode_ = access::read_only;
	uint64_t size_bytes_ = 0;
	uint64_t nr_blocks_ = 0;
	bool is_block_device_ = false;
	read_policy policy_;
	// Where read_blocks reads the gaps it spans. Nothing reads it back, so
	// threads reading at once may all write to it.
	mutable aligned_buffer gap_sink_;
	// Present when policy_ has several requests in flight and the kernel
	// allows it.
	std::unique_ptr<async_reads> async_;
};

}
