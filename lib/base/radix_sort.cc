#include "base/radix_sort.h"

#include <algorithm>
#include <utility>

namespace thinmeta {

void radix_sort(std::vector<uint64_t>& keys, unsigned significant_bits, std::vector<uint64_t>& scratch)
{
	constexpr unsigned digit_bits = 16;
	constexpr size_t nr_digits = size_t(1) << digit_bits;
	if (keys.size() < 2)
		return;
	if (keys.size() < nr_digits) {
		std::sort(keys.begin(), keys.end());
		return;
	}
	scratch.resize(keys.size());
	std::vector<size_t> position(nr_digits);
	for (unsigned shift = 0; shift < significant_bits; shift += digit_bits) {
		std::fill(position.begin(), position.end(), 0);
		for (uint64_t k : keys)
			++position[(k >> shift) & (nr_digits - 1)];
		size_t sum = 0;
		for (auto& p : position)
			sum += std::exchange(p, sum);
		for (uint64_t k : keys)
			scratch[position[(k >> shift) & (nr_digits - 1)]++] = k;
		keys.swap(scratch);
	}
}

}
