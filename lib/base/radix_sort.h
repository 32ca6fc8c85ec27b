// Sorting many 64-bit keys of which only the low bits vary: least
// significant digit radix sort, 16 bits a pass, a pass per 16 bits in use.
// Several times faster than std::sort on millions of keys (thin_rmap sorts
// each window's runs this way); takes a scratch array as large as the keys.
#pragma once

#include <cstdint>
#include <vector>

namespace thinmeta {

// Sorts `keys`, all below 2^significant_bits, ascending. `scratch` is
// resized to the keys' size; keeping it between calls saves faulting in
// fresh pages for each sort.
void radix_sort(std::vector<uint64_t>& keys, unsigned significant_bits, std::vector<uint64_t>& scratch);

}
