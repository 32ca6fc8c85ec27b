// Runs pack-machine instructions (pack_format.h) back into a 4096-byte block.
// Every instruction is checked: an unknown tag, a bad operand width, input
// that ends early or output that would overrun the block is an error, never
// a crash, whatever the pack file holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace thinmeta::ops {

// Reads encoded blocks from a buffer of instructions.
class pack_decoder {
public:
	explicit pack_decoder(std::span<const uint8_t> input) : in_(input) {}

	bool at_end() const { return pos_ == in_.size(); }
	size_t position() const { return pos_; }
	// Reads a le64 (a block number). Throws thinmeta::error if it is cut short.
	uint64_t read_u64();
	// Decodes one block into out (4096 bytes). Throws thinmeta::error saying
	// what is wrong.
	void decode_block(uint8_t* out);

private:
	struct sink {
		uint8_t* data;
		size_t size;
		size_t used = 0;
	};

	uint8_t byte();
	uint64_t operand(unsigned width);
	void emit_base(sink& out);
	void run_until(sink& out, size_t wanted);
	void instruction(sink& out, size_t times);

	// Shifted runs inside the columns of shifted runs: the packers write
	// none; a few levels are run.
	static constexpr unsigned max_nesting = 4;

	std::span<const uint8_t> in_;
	size_t pos_ = 0;
	uint64_t base_ = 0;
	unsigned nesting_ = 0;
};

}
