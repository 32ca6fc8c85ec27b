// The text glibc's strerror() gives an errno, for the errors a thin pool
// reports (`error 7: File exists`), fixed here so that the output does not
// depend on the locale.
#pragma once

#include <string>

namespace thinmeta::sim {

std::string errno_text(int errno_value);

}
