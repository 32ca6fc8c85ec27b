#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <utility>

#include "pdata/ref_count_lookup.h"

using thinmeta::pdata::ref_count_lookup;
using thinmeta::pdata::ref_counter;

TEMPLATE_TEST_CASE("ref_count_lookup answers each question with the block's count and its tag", "[ref_counter]",
                   uint32_t, uint64_t)
{
	using question = TestType;
	const uint64_t nr_blocks = 3 * ref_counter::chunk_size + 500;
	ref_counter counts(nr_blocks);
	std::mt19937_64 rng(5);
	for (int i = 0; i < 100'000; ++i)
		counts.inc(rng() % nr_blocks);

	// (count, tag) pairs wanted and got, as multisets: answers come in no
	// particular order.
	std::map<std::pair<uint32_t, uint64_t>, int> want, got;
	auto answer = [&](uint32_t count, uint64_t tag) { ++got[{count, tag}]; };
	ref_count_lookup<ref_counter, decltype(answer), question> lookup(counts, answer);
	const uint64_t big_tag = (uint64_t(1) << decltype(lookup)::tag_bits) - 1;
	CHECK(decltype(lookup)::tag_bits == 8 * sizeof(question) - 16);
	for (int i = 0; i < 20'000; ++i) {
		uint64_t b = rng() % nr_blocks;
		uint64_t tag = i % 7 == 0 ? big_tag : rng() % 1000;
		lookup.ask(b, tag);
		++want[{counts.get(b), tag}];
	}
	// Enough questions about one chunk to fill its buffer more than once.
	for (int i = 0; i < 3000; ++i) {
		lookup.ask(ref_counter::chunk_size + 9, 42);
		++want[{counts.get(ref_counter::chunk_size + 9), 42}];
	}
	lookup.answer_all();
	CHECK(got == want);

	got.clear();
	lookup.answer_all();  // nothing is answered twice
	CHECK(got.empty());
}
