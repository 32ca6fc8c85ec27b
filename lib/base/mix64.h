// Two unrelated 64-bit finalisers, each a bijection that spreads every input
// bit over the whole word: Stafford's mix 13 and MurmurHash3's fmix64. The
// fingerprints of sets and multisets (ops/ref_count_summary.h,
// base/multiset_fingerprint.h) sum them.
#pragma once

#include <cstdint>

namespace thinmeta {

namespace mix64_constants {
inline constexpr uint64_t stafford13_1 = 0xBF58476D1CE4E5B9ull;
inline constexpr uint64_t stafford13_2 = 0x94D049BB133111EBull;
inline constexpr uint64_t murmur3_1 = 0xFF51AFD7ED558CCDull;
inline constexpr uint64_t murmur3_2 = 0xC4CEB9FE1A85EC53ull;
}

inline uint64_t mix64_stafford13(uint64_t x)
{
	x = (x ^ (x >> 30)) * mix64_constants::stafford13_1;
	x = (x ^ (x >> 27)) * mix64_constants::stafford13_2;
	return x ^ (x >> 31);
}

inline uint64_t mix64_murmur3(uint64_t x)
{
	x = (x ^ (x >> 33)) * mix64_constants::murmur3_1;
	x = (x ^ (x >> 33)) * mix64_constants::murmur3_2;
	return x ^ (x >> 33);
}

}
