#include "base/error.h"

#include <cstring>

namespace thinmeta {

io_error::io_error(const std::string& what, int err) : error(what + ": " + std::strerror(err)), code_(err) {}

}
