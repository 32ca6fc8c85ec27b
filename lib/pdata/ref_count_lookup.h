// Lookups of a count per block (ref_counter, use_tally) for blocks arriving
// in no useful order, gathered per chunk and answered a chunk at a time, so
// the counts are read while they are in the cache (one at a time, nearly
// every lookup missed it). Each lookup carries a tag (which device asked, and
// what with) of up to 48 bits in 8-byte questions, or 16 bits in 4-byte ones,
// which halve the buffers (4 KiB a chunk in use, a quarter of use_tally's
// counts); answer(count, tag) is called for each, in no particular order, at
// the latest by answer_all().
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

#include "pdata/chunk_buffers.h"
#include "pdata/ref_counter.h"

namespace thinmeta::pdata {

// Counts: size(), get(b), prefetch_chunk(chunk), chunks of
// ref_counter::chunk_size blocks.
template <typename Counts, typename Answer, typename Question = uint64_t>
class ref_count_lookup {
public:
	static constexpr unsigned tag_bits = 8 * sizeof(Question) - 16;

	ref_count_lookup(const Counts& counts, Answer answer)
	    : counts_(counts), answer_(std::move(answer)), pending_(counts.size())
	{
	}

	// b < counts.size(), tag < 2^tag_bits.
	void ask(uint64_t b, uint64_t tag)
	{
		uint64_t chunk = b >> ref_counter::chunk_bits;
		if (pending_.add(chunk, static_cast<Question>(tag << 16 | static_cast<uint16_t>(b))))
			answer(chunk);
	}
	void answer_all()
	{
		for (uint64_t chunk = 0; chunk < pending_.nr_chunks(); ++chunk)
			answer(chunk);
	}

private:
	static_assert(Counts::chunk_bits == ref_counter::chunk_bits, "counts are kept in ref_counter's chunks");
	static_assert(ref_counter::chunk_bits <= 16, "a chunk offset fits 16 bits");
	static_assert(std::is_same_v<Question, uint32_t> || std::is_same_v<Question, uint64_t>, "4 or 8-byte questions");

	void answer(uint64_t chunk)
	{
		uint64_t base = chunk << ref_counter::chunk_bits;
		auto questions = pending_.take(chunk);
		// A full buffer's questions land all over the chunk: fetch its
		// counts whole, in order, rather than miss line by line.
		if (questions.size() == capacity)
			counts_.prefetch_chunk(chunk);
		for (Question q : questions)
			answer_(counts_.get(base + (q & 0xFFFF)), q >> 16);
	}

	const Counts& counts_;
	Answer answer_;
	static constexpr uint32_t capacity = 1024;  // questions held per chunk
	chunk_buffers<Question, capacity> pending_;
};

}
