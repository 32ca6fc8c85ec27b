#include "sim/errno_text.h"

#include <cerrno>

#include "base/text.h"

namespace thinmeta::sim {

std::string errno_text(int errno_value)
{
	switch (errno_value) {
	case EPERM:
		return "Operation not permitted";
	case ENOENT:
		return "No such file or directory";
	case EIO:
		return "Input/output error";
	case ENOMEM:
		return "Cannot allocate memory";
	case EBUSY:
		return "Device or resource busy";
	case EEXIST:
		return "File exists";
	case ENODEV:
		return "No such device";
	case EINVAL:
		return "Invalid argument";
	case ENOSPC:
		return "No space left on device";
	case ERANGE:
		return "Numerical result out of range";
	case ENODATA:
		return "No data available";
	case EOPNOTSUPP:
		return "Operation not supported";
	default:
		return cat("Unknown error ", errno_value);
	}
}

}
