// The pool's data device: an image file whose size gives the pool its data
// blocks. Reads and writes at byte offsets; zeroing and discards punch holes
// (a disk with discard support behind the kernel's passdown reads back
// zeroes), so a sparse image stays sparse. With data I/O turned off (for
// workloads that only want metadata) nothing is read or written: reads give
// zeroes.
#pragma once

#include <cstdint>
#include <string>

namespace thinmeta::sim {

enum class data_io { full, none };

class data_device {
public:
	data_device(const std::string& path, data_io mode);
	data_device(data_device&& other) noexcept;
	data_device(const data_device&) = delete;
	data_device& operator=(const data_device&) = delete;
	~data_device();

	const std::string& path() const { return path_; }
	bool stores_data() const { return mode_ == data_io::full; }
	// The size now (the file may have grown since it was opened).
	uint64_t size_bytes() const;

	void write(uint64_t offset, const uint8_t* data, uint64_t length);
	// Bytes past the end of the file read as zeroes.
	void read(uint64_t offset, uint8_t* out, uint64_t length) const;
	// The range reads back as zeroes afterwards.
	void zero(uint64_t offset, uint64_t length);

private:
	std::string path_;
	int fd_ = -1;
	data_io mode_;
	bool punch_works_ = true;
};

// A read-only image that gives a thin device the contents of its unmapped
// blocks (the kernel's external origin).
class external_origin {
public:
	explicit external_origin(const std::string& path);
	external_origin(external_origin&& other) noexcept;
	external_origin(const external_origin&) = delete;
	external_origin& operator=(const external_origin&) = delete;
	~external_origin();

	const std::string& path() const { return path_; }
	uint64_t size_sectors() const { return size_sectors_; }
	// Reads whole sectors inside the origin.
	void read(uint64_t offset, uint8_t* out, uint64_t length) const;

private:
	std::string path_;
	int fd_ = -1;
	uint64_t size_sectors_ = 0;
};

// Where the bytes of a write come from: position is relative to the start
// of the write.
class data_source {
public:
	virtual ~data_source() = default;
	virtual void bytes(uint64_t position, uint64_t length, uint8_t* out) = 0;
};

// Every byte the same.
class fill_source final : public data_source {
public:
	explicit fill_source(uint8_t value) : value_(value) {}
	void bytes(uint64_t position, uint64_t length, uint8_t* out) override;

private:
	uint8_t value_;
};

// Where the bytes of a read go, in order.
class data_sink {
public:
	virtual ~data_sink() = default;
	virtual void take(const uint8_t* data, uint64_t length) = 0;
};

}
