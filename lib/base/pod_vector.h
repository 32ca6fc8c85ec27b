// A growable array of plain values for the large per-block tables of the
// checkers (counts per metadata block, a level of b-tree node references).
// An array of a megabyte or more is mapped from the kernel itself: created
// zeroed, it costs no resident memory until a page is written; it grows by
// remapping its pages rather than copying them into a second, doubled,
// array; and freed, its memory goes straight back (the C heap would hand
// out such sizes from its own pool once a larger block has been freed, and
// keep them). Peak memory follows what is stored, not twice the capacity.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include <sys/mman.h>

namespace thinmeta {

template <typename T>
class pod_vector {
	static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

public:
	pod_vector() = default;
	// n values, all bytes zero.
	explicit pod_vector(size_t n) : size_(n), capacity_(n)
	{
		if (!n)
			return;
		data_ = static_cast<T*>(mapped(n) ? map(bytes_of(n)) : std::calloc(n, sizeof(T)));
		if (!data_)
			throw std::bad_alloc();
	}
	pod_vector(pod_vector&& o) noexcept
	    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)),
	      capacity_(std::exchange(o.capacity_, 0))
	{
	}
	pod_vector& operator=(pod_vector&& o) noexcept
	{
		swap(o);
		return *this;
	}
	pod_vector(const pod_vector&) = delete;
	pod_vector& operator=(const pod_vector&) = delete;
	~pod_vector() { release(data_, capacity_); }

	void swap(pod_vector& o) noexcept
	{
		std::swap(data_, o.data_);
		std::swap(size_, o.size_);
		std::swap(capacity_, o.capacity_);
	}

	size_t size() const { return size_; }
	bool empty() const { return size_ == 0; }
	T* data() { return data_; }
	const T* data() const { return data_; }
	T* begin() { return data_; }
	T* end() { return data_ + size_; }
	const T* begin() const { return data_; }
	const T* end() const { return data_ + size_; }
	T& operator[](size_t i) { return data_[i]; }
	const T& operator[](size_t i) const { return data_[i]; }
	T& back() { return data_[size_ - 1]; }

	void clear() { size_ = 0; }
	// Keeps the first n elements (n <= size()).
	void truncate(size_t n) { size_ = n; }
	// The first n values will not be read again: the whole pages they fill
	// go back to the system (in an array of a megabyte or more), and read
	// as zeros if they are.
	void discard_prefix(size_t n)
	{
		if (!mapped(capacity_))
			return;
		size_t bytes = std::min(n, size_) * sizeof(T) / page * page;
		if (bytes)
			::madvise(data_, bytes, MADV_DONTNEED);
	}
	void push_back(const T& v)
	{
		if (size_ == capacity_)
			reserve(capacity_ ? capacity_ * 2 : 64);
		data_[size_++] = v;
	}
	// Sizes the array to n. Values past the old size hold whatever the
	// memory held (zeros if never written): for a caller that overwrites
	// them, unlike std::vector::resize, which would write them first.
	void resize_for_overwrite(size_t n)
	{
		if (n > capacity_)
			reserve(std::max(n, capacity_ * 2));
		size_ = n;
	}
	void reserve(size_t n)
	{
		if (n <= capacity_)
			return;
		void* p = nullptr;
		if (!mapped(n)) {
			p = std::realloc(data_, n * sizeof(T));
		} else if (mapped(capacity_)) {
			p = ::mremap(data_, bytes_of(capacity_), bytes_of(n), MREMAP_MAYMOVE);
			p = p == MAP_FAILED ? nullptr : p;
		} else if ((p = map(bytes_of(n)))) {
			std::memcpy(p, data_, size_ * sizeof(T));
			std::free(data_);
		}
		if (!p)
			throw std::bad_alloc();
		data_ = static_cast<T*>(p);
		capacity_ = n;
	}

private:
	static constexpr size_t map_threshold = size_t(1) << 20;
	static constexpr size_t page = 4096;

	static bool mapped(size_t n) { return n * sizeof(T) >= map_threshold; }
	static size_t bytes_of(size_t n) { return (n * sizeof(T) + page - 1) / page * page; }
	static void* map(size_t bytes)
	{
		void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? nullptr : p;
	}
	static void release(T* data, size_t capacity)
	{
		if (data && mapped(capacity))
			::munmap(data, bytes_of(capacity));
		else
			std::free(data);
	}

	T* data_ = nullptr;
	size_t size_ = 0;
	size_t capacity_ = 0;
};

}
