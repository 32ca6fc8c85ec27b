// Errors of pool metadata operations that the kernel reports as an errno
// (a thin_sim prints them as the kernel would): EEXIST, ENODATA, EINVAL,
// EBUSY, ENOSPC. Other failures are plain thinmeta::error.
#pragma once

#include <string>

#include "base/error.h"

namespace thinmeta::thin {

class pool_error : public error {
public:
	pool_error(int errno_value, const std::string& what) : error(what), errno_(errno_value) {}
	int errno_value() const { return errno_; }

private:
	int errno_;
};

}
