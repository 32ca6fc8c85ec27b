// An output file that appears only when it is complete: written under a
// temporary name in the same directory, then renamed over the final name
// by commit(). If anything fails first, the temporary file is removed and
// no partial output is left behind (an existing file at the final name is
// left as it was).
#pragma once

#include <cstdint>
#include <string>

namespace thinmeta::ops {

class replacing_file {
public:
	// Refuses a final name that exists as anything but a regular file.
	explicit replacing_file(const std::string& final_path);
	replacing_file(const replacing_file&) = delete;
	replacing_file& operator=(const replacing_file&) = delete;
	~replacing_file();

	const std::string& temp_path() const { return temp_; }
	const std::string& final_path() const { return final_; }
	int fd() const { return fd_; }

	void write_all(const void* data, size_t len);
	void write_at(uint64_t offset, const void* data, size_t len);
	void set_size(uint64_t bytes);
	// Makes the data durable and moves it to the final name.
	void commit();

private:
	std::string final_;
	std::string temp_;
	int fd_ = -1;
};

}
