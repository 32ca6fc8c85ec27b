// Sorting millions of records by an integer key of which only the low bits
// vary: least significant digit radix sort, stable, up to 16 bits a pass.
// It moves the records themselves: sorting indices and then gathering the
// records in their order costs a cache miss per record, which thin_rmap
// measured as most of its time. Takes a scratch vector as large as the
// records.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace thinmeta {

// Sorts `items` by key_of(item), which must be below 2^significant_bits,
// keeping items of equal keys in their order. `scratch` is resized to the
// items' size; keeping it between calls saves faulting in fresh pages for
// each sort.
template <typename T, typename KeyOf>
void stable_radix_sort(std::vector<T>& items, unsigned significant_bits, KeyOf key_of, std::vector<T>& scratch)
{
	static_assert(std::is_trivially_copyable_v<T>);
	constexpr unsigned max_digit_bits = 16;
	if (items.size() < 2 || significant_bits == 0)  // every key 0: in order already
		return;
	if (items.size() < (size_t(1) << max_digit_bits)) {
		std::stable_sort(items.begin(), items.end(),
		                 [&](const T& a, const T& b) { return key_of(a) < key_of(b); });
		return;
	}
	// The fewest passes, digits of equal width.
	unsigned passes = (significant_bits + max_digit_bits - 1) / max_digit_bits;
	unsigned digit_bits = (significant_bits + passes - 1) / passes;
	size_t nr_digits = size_t(1) << digit_bits;
	uint64_t mask = nr_digits - 1;
	// Every pass's digit counts, from one read of the items.
	std::vector<size_t> position(passes * nr_digits, 0);
	for (const T& item : items) {
		uint64_t k = key_of(item);
		for (unsigned p = 0; p < passes; ++p)
			++position[p * nr_digits + ((k >> (p * digit_bits)) & mask)];
	}
	scratch.resize(items.size());
	for (unsigned p = 0; p < passes; ++p) {
		size_t* pos = position.data() + p * nr_digits;
		// A digit all items share leaves their order as it is.
		if (std::find(pos, pos + nr_digits, items.size()) != pos + nr_digits)
			continue;
		size_t sum = 0;
		for (size_t d = 0; d < nr_digits; ++d)
			sum += std::exchange(pos[d], sum);
		unsigned shift = p * digit_bits;
		for (const T& item : items)
			scratch[pos[(key_of(item) >> shift) & mask]++] = item;
		items.swap(scratch);
	}
}

}
