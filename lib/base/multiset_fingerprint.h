// A fingerprint of a multiset of 64-bit numbers (block numbers, each as many
// times as it is referred to) that does not depend on the order they arrive
// in: how many there are, and two sums of independently mixed hashes of each.
// thin_check fingerprints the data blocks the mapping leaves refer to as it
// walks them, and the counts the data space map stores as it reads the
// bitmaps, instead of keeping a count per data block: two multisets that
// differ collide with a chance of about 2^-128 (2^-64 where every count
// differs by a multiple of 2^32), and a difference sends the check to the
// exact recount, which names each block.
// The bulk forms run eight numbers at a time on AVX-512 where the CPU has it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/mix64.h"

namespace thinmeta {

class multiset_fingerprint {
public:
	// The two hashes of a number: mixed after an exclusive or with a
	// constant each, so that no small number (block 0) hashes to 0.
	struct hashes {
		uint64_t a;
		uint64_t b;
	};
	static constexpr uint64_t salt_a = 0x6A09E667F3BCC908ull;
	static constexpr uint64_t salt_b = 0xBB67AE8584CAA73Bull;
	static hashes hash(uint64_t x) { return {mix64_stafford13(x ^ salt_a), mix64_murmur3(x ^ salt_b)}; }

	// x, `times` times.
	void add(uint64_t x, uint64_t times = 1) { add(hash(x), times); }
	void add(const hashes& h, uint64_t times)
	{
		size_ += times;
		sum_a_ += h.a * times;
		sum_b_ += h.b * times;
	}

	// Adds (v >> shift) for each of the n little-endian 64-bit values at
	// `values`, unless one of them is limit or more: then adds nothing and
	// returns false. (A mapping leaf's values: data block above the time.)
	bool add_fields(const uint8_t* values, size_t n, unsigned shift, uint64_t limit);

	// Counts packed two bits each, four a byte from the lowest bits up, each
	// count's high bit first (a space map bitmap's entries): for each
	// i < n, adds first + i as many times as its count says when that is 1
	// or 2, and adds it once to `threes` when the count is 3. Returns how
	// many counts were 1 or 2.
	uint32_t add_2bit_counts(const uint8_t* packed, uint64_t first, uint32_t n, multiset_fingerprint& threes);

	// Numbers added, each as many times as it was.
	uint64_t size() const { return size_; }

	multiset_fingerprint& operator+=(const multiset_fingerprint& other)
	{
		size_ += other.size_;
		sum_a_ += other.sum_a_;
		sum_b_ += other.sum_b_;
		return *this;
	}
	friend multiset_fingerprint operator+(multiset_fingerprint x, const multiset_fingerprint& y) { return x += y; }
	bool operator==(const multiset_fingerprint&) const = default;

private:
	friend struct multiset_fingerprint_kernels;

	uint64_t size_ = 0;
	uint64_t sum_a_ = 0;
	uint64_t sum_b_ = 0;
};

// Each implementation of the bulk forms this CPU runs, the one in use first
// and the portable one last: tests compare each with the portable one.
struct multiset_fingerprint_implementation {
	const char* name;
	bool (*add_fields)(multiset_fingerprint& to, const uint8_t* values, size_t n, unsigned shift, uint64_t limit);
	uint32_t (*add_2bit_counts)(multiset_fingerprint& to, const uint8_t* packed, uint64_t first, uint32_t n,
	                            multiset_fingerprint& threes);
};
std::vector<multiset_fingerprint_implementation> multiset_fingerprint_implementations();

}
