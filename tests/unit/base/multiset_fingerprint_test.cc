// multiset_fingerprint: the same numbers in any order fingerprint alike,
// multiplicity counts, and a changed, moved, missing or extra number does
// not; each bulk implementation the CPU runs adds exactly what the
// one-at-a-time form does.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "base/endian.h"
#include "base/multiset_fingerprint.h"

using namespace thinmeta;

namespace {

multiset_fingerprint of(const std::vector<uint64_t>& numbers)
{
	multiset_fingerprint f;
	for (uint64_t x : numbers)
		f.add(x);
	return f;
}

std::vector<uint64_t> sample()
{
	std::vector<uint64_t> v;
	for (uint64_t x = 0; x < 5000; ++x)
		v.push_back(x * 13 % 4099);
	return v;
}

// Mapping-leaf-like values: a number above `shift` bits of noise.
std::vector<uint8_t> fields(const std::vector<uint64_t>& numbers, unsigned shift, std::mt19937_64& rng)
{
	std::vector<uint8_t> out(8 * numbers.size());
	for (size_t i = 0; i < numbers.size(); ++i)
		store_le<uint64_t>(out.data() + 8 * i, numbers[i] << shift | (rng() & ((uint64_t(1) << shift) - 1)));
	return out;
}

// A count's two bits as packed, high bit first (the swap is its own inverse).
unsigned packed_pair(unsigned bits)
{
	return (bits & 1) << 1 | bits >> 1;
}

}

TEST_CASE("multiset_fingerprint does not depend on order", "[multiset_fingerprint]")
{
	std::vector<uint64_t> v = sample();
	multiset_fingerprint in_order = of(v);
	std::reverse(v.begin(), v.end());
	CHECK(of(v) == in_order);
	std::rotate(v.begin(), v.begin() + 1234, v.end());
	CHECK(of(v) == in_order);
	CHECK(in_order.size() == 5000);
	CHECK(multiset_fingerprint() == of({}));

	multiset_fingerprint halves = of({v.begin(), v.begin() + 2000});
	halves += of({v.begin() + 2000, v.end()});
	CHECK(halves == in_order);
	CHECK(of({v.begin(), v.begin() + 10}) + of({v.begin() + 10, v.end()}) == in_order);
}

TEST_CASE("multiset_fingerprint counts each number as often as it is added", "[multiset_fingerprint]")
{
	multiset_fingerprint thrice;
	thrice.add(42, 3);
	CHECK(thrice == of({42, 42, 42}));
	CHECK(thrice.size() == 3);
	CHECK(thrice != of({42, 42}));
	CHECK(thrice != of({42}));
	multiset_fingerprint hashed;
	hashed.add(multiset_fingerprint::hash(42), 3);
	CHECK(hashed == thrice);
}

TEST_CASE("multiset_fingerprint tells multisets apart", "[multiset_fingerprint]")
{
	const std::vector<uint64_t> v = sample();
	const multiset_fingerprint base = of(v);
	// Block 0 counts like any other.
	CHECK(of({0}) != of({}));
	CHECK(of({0, 1}) != of({1}));
	CHECK(of({0, 0}) != of({0}));
	for (size_t i : {size_t(0), size_t(1), size_t(2500), v.size() - 1}) {
		auto changed = v;
		++changed[i];
		CHECK(of(changed) != base);
		changed = v;
		changed.erase(changed.begin() + static_cast<long>(i));
		CHECK(of(changed) != base);
		changed = v;
		changed.push_back(v[i]);
		CHECK(of(changed) != base);
	}
	// One more of one number and one fewer of another: the size is the same.
	auto moved = v;
	moved.push_back(1);
	moved.erase(std::find(moved.begin(), moved.end(), uint64_t(2)));
	CHECK(of(moved).size() == base.size());
	CHECK(of(moved) != base);
	// Counts that sum alike: {1, 3} against {2, 2}.
	CHECK(of({1, 3}) != of({2, 2}));
	CHECK(of({1, 2, 3}) != of({2, 2, 2}));
}

TEST_CASE("every multiset_fingerprint implementation adds fields as one-at-a-time adds do",
          "[multiset_fingerprint]")
{
	std::mt19937_64 rng(11);
	auto implementations = multiset_fingerprint_implementations();
	CHECK(std::string(implementations.back().name) == "portable");
	for (auto& impl : implementations) {
		for (size_t n : {0, 1, 7, 8, 9, 15, 16, 17, 126, 252, 253}) {
			std::vector<uint64_t> numbers(n);
			for (auto& x : numbers)
				x = rng() % 1000000;
			auto values = fields(numbers, 24, rng);
			INFO(impl.name << ", " << n << " values");
			multiset_fingerprint bulk;
			bulk.add(5);  // added to, not replaced
			REQUIRE(impl.add_fields(bulk, values.data(), n, 24, 1000000));
			multiset_fingerprint expected = of(numbers);
			expected.add(5);
			CHECK(bulk == expected);
			// One value at the limit, anywhere: nothing is added.
			for (size_t bad = 0; bad < n; bad += std::max<size_t>(1, n / 5)) {
				auto wrong = numbers;
				wrong[bad] = 1000000 + bad % 2;
				auto wrong_values = fields(wrong, 24, rng);
				multiset_fingerprint untouched;
				untouched.add(5);
				CHECK_FALSE(impl.add_fields(untouched, wrong_values.data(), n, 24, 1000000));
				CHECK(untouched == of({5}));
			}
		}
	}
	// The member form uses the first implementation.
	std::vector<uint64_t> numbers = sample();
	auto values = fields(numbers, 24, rng);
	multiset_fingerprint member;
	REQUIRE(member.add_fields(values.data(), numbers.size(), 24, 4099));
	CHECK(member == of(numbers));
	CHECK_FALSE(member.add_fields(values.data(), numbers.size(), 24, 4098));
}

TEST_CASE("every multiset_fingerprint implementation adds 2-bit counts as one-at-a-time adds do",
          "[multiset_fingerprint]")
{
	std::mt19937_64 rng(12);
	for (auto& impl : multiset_fingerprint_implementations()) {
		// Dense, sparse (whole zero bytes and words), and all threes.
		for (unsigned density : {100, 30, 3, 0, 101}) {
			for (uint32_t n : {0u, 1u, 3u, 4u, 5u, 8u, 31u, 32u, 33u, 100u, 16320u}) {
				std::vector<uint8_t> packed((n + 3) / 4 + 1);
				for (uint32_t i = 0; i < n; ++i) {
					unsigned count = density == 101 ? 3 : (rng() % 100 < density ? 1 + rng() % 3 : 0);
					packed[i / 4] = static_cast<uint8_t>(packed[i / 4] | packed_pair(count) << (2 * (i % 4)));
				}
				// Entries past n are never read as counts.
				packed.back() = 0xFF;
				if (n % 4)
					packed[n / 4] = static_cast<uint8_t>(packed[n / 4] | 0xFF << (2 * (n % 4)));
				uint64_t first = (uint64_t(1) << 35) + rng() % 100000;
				multiset_fingerprint expected, expected_threes;
				uint32_t expected_in_use = 0;
				for (uint32_t i = 0; i < n; ++i) {
					unsigned count = packed_pair(packed[i / 4] >> (2 * (i % 4)) & 3);
					if (count == 3) {
						expected_threes.add(first + i);
					} else if (count) {
						expected.add(first + i, count);
						++expected_in_use;
					}
				}
				INFO(impl.name << ", " << n << " counts, density " << density);
				multiset_fingerprint counted, threes;
				CHECK(impl.add_2bit_counts(counted, packed.data(), first, n, threes) == expected_in_use);
				CHECK(counted == expected);
				CHECK(threes == expected_threes);
			}
		}
	}
}
