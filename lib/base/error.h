// The library's one exception type. Its message says what is wrong and where
// (file, block, device, key), ready to show to a user as it is.
#pragma once

#include <stdexcept>
#include <string>

namespace thinmeta {

class error : public std::runtime_error {
public:
	explicit error(const std::string& what) : std::runtime_error(what) {}
};

// Raised for failed system calls; the message ends with strerror(errno).
class io_error : public error {
public:
	io_error(const std::string& what, int err);
	int code() const { return code_; }

private:
	int code_;
};

}
