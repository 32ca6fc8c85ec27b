// A metadata device or image file seen as an array of 4 KiB blocks: opening
// with the checks users need (missing, directory, too small, in use), and
// reads and writes of many blocks in few system calls.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "io/block.h"
#include "io/block_store.h"

namespace thinmeta::io {

enum class access { read_only, read_write };

// exclusive: a block device is opened with O_EXCL, so one the kernel is using
// (an active pool's metadata) is refused. shared: no O_EXCL, for reading a
// metadata snapshot of a live pool.
enum class sharing { exclusive, shared };

class block_device final : public block_store {
public:
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
	// slots of `out`; runs of consecutive numbers become one read. `out` must
	// be block-aligned (see aligned_buffer).
	void read_blocks(std::span<const block_address> blocks, uint8_t* out) const;
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
	block_device(std::string path, int fd, access mode, uint64_t size_bytes, bool is_block_device);
	void read_bytes(uint64_t offset, uint64_t len, uint8_t* out) const;

	std::string path_;
	int fd_ = -1;
	access mode_ = access::read_only;
	uint64_t size_bytes_ = 0;
	uint64_t nr_blocks_ = 0;
	bool is_block_device_ = false;
};

}
