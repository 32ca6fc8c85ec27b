// A fingerprint of a set of (block, count) pairs that does not depend on the
// order they arrive in: the number of pairs and two sums of independently
// mixed 64-bit hashes of each pair. thin_check fingerprints a space map's
// ref-count tree while walking it in block order, and the counts it expects
// for the blocks whose bitmap entries point into that tree while reading the
// bitmaps; equal fingerprints mean the tree holds exactly the expected
// counts, so the tree need not be read again in key order. Two sets that
// differ collide with a chance of about 2^-128; a mismatch sends the check
// to the exact comparison, which names each block.
#pragma once

#include <bit>
#include <cstdint>

#include "base/mix64.h"

namespace thinmeta::ops {

class ref_count_summary {
public:
	// One mix per sum, each of a different packing of the pair: block and
	// count side by side (one to one while blocks have at most 40 bits, as
	// data blocks do, and counts 24), and block times a large odd constant
	// plus the count. A pair is added per bitmap entry of 3 or more: tens
	// of millions at 4 GiB, so the mixing is kept to two a pair.
	void add(uint64_t block, uint32_t count)
	{
		++pairs_;
		sum_a_ += mix64_stafford13(block ^ std::rotl(uint64_t(count), 40));
		sum_b_ += mix64_murmur3(block * 0x9E3779B97F4A7C15ull + count);
	}

	// The fingerprint of both sets together.
	ref_count_summary& operator+=(const ref_count_summary& other)
	{
		pairs_ += other.pairs_;
		sum_a_ += other.sum_a_;
		sum_b_ += other.sum_b_;
		return *this;
	}

	uint64_t pairs() const { return pairs_; }
	bool operator==(const ref_count_summary&) const = default;

private:
	uint64_t pairs_ = 0;
	uint64_t sum_a_ = 0;
	uint64_t sum_b_ = 0;
};

}
