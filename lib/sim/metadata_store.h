// The pool's metadata device: an image file seen as 4 KiB blocks, which can
// be opened again after the file has grown (a metadata device resized under
// a live pool), so that the pool metadata above it sees the new size.
#pragma once

#include <memory>
#include <string>

#include "io/block_device.h"
#include "io/block_store.h"

namespace thinmeta::sim {

class metadata_store final : public io::block_store {
public:
	metadata_store(const std::string& path, bool writable);

	const std::string& path() const { return path_; }
	bool writable() const { return writable_; }
	uint64_t nr_blocks() const override { return device_->nr_blocks(); }
	void read_range(block_address first, uint64_t count, uint8_t* out) const override;
	void write_range(block_address first, uint64_t count, const uint8_t* data) override;
	// Commits need no durability from the host: a crash is simulated, and
	// the page cache keeps what was written. sync() makes it durable.
	void flush() override {}
	void sync() { device_->flush(); }

	// Opens the file again to take in a new size.
	void reopen();

private:
	std::string path_;
	bool writable_;
	std::unique_ptr<io::block_device> device_;
};

}
