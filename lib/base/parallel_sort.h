// Sorting millions of records on both cores: each sorts half, and the
// halves are merged. For work that nothing else overlaps (thin_check
// sorts the references of a level of leaves before reading any of it).
#pragma once

#include <algorithm>
#include <cstddef>
#include <thread>

namespace thinmeta {

// Sorts [first, last) by `less` (not stable). Fewer than `split_above`
// records are sorted on the calling thread alone.
template <typename T, typename Less>
void parallel_sort(T* first, T* last, Less less, size_t split_above = size_t(1) << 16)
{
	size_t n = static_cast<size_t>(last - first);
	if (n <= split_above) {
		std::sort(first, last, less);
		return;
	}
	T* middle = first + n / 2;
	{
		std::jthread first_half([&] { std::sort(first, middle, less); });
		std::sort(middle, last, less);
	}
	std::inplace_merge(first, middle, last, less);
}

}
