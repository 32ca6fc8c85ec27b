// A growable array of plain values for the large per-block tables of the
// checkers (counts per metadata block, a level of b-tree node references).
// It takes its memory from calloc/realloc, so a table created zeroed costs
// no resident memory until a page is written, and growth of a large array
// remaps pages instead of copying them into a second, doubled, array: peak
// memory follows what is stored, not twice the capacity.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace thinmeta {

template <typename T>
class pod_vector {
	static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

public:
	pod_vector() = default;
	// n values, all bytes zero.
	explicit pod_vector(size_t n) : size_(n), capacity_(n)
	{
		if (n && !(data_ = static_cast<T*>(std::calloc(n, sizeof(T)))))
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
	~pod_vector() { std::free(data_); }

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
	void push_back(const T& v)
	{
		if (size_ == capacity_)
			reserve(capacity_ ? capacity_ * 2 : 64);
		data_[size_++] = v;
	}
	void reserve(size_t n)
	{
		if (n <= capacity_)
			return;
		void* p = std::realloc(data_, n * sizeof(T));
		if (!p)
			throw std::bad_alloc();
		data_ = static_cast<T*>(p);
		capacity_ = n;
	}

private:
	T* data_ = nullptr;
	size_t size_ = 0;
	size_t capacity_ = 0;
};

}
