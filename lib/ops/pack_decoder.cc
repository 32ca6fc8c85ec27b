#include "ops/pack_decoder.h"

#include <cstring>

#include "base/endian.h"
#include "base/error.h"
#include "base/text.h"
#include "io/block.h"
#include "ops/pack_format.h"

namespace thinmeta::ops {

uint8_t pack_decoder::byte()
{
	if (pos_ >= in_.size())
		throw error("the encoded block ends early");
	return in_[pos_++];
}

uint64_t pack_decoder::read_u64()
{
	if (in_.size() - pos_ < 8)
		throw error("a block number is cut short");
	uint64_t v = load_le64(in_.data() + pos_);
	pos_ += 8;
	return v;
}

uint64_t pack_decoder::operand(unsigned width)
{
	if (width != 1 && width != 2 && width != 4 && width != 8)
		throw error(cat("bad operand width ", width));
	if (in_.size() - pos_ < width)
		throw error("the encoded block ends early");
	uint64_t v = 0;
	for (unsigned i = 0; i < width; ++i)
		v |= uint64_t(in_[pos_ + i]) << (8 * i);
	pos_ += width;
	return v;
}

void pack_decoder::emit_base(sink& out)
{
	if (out.size - out.used < 8)
		throw error("the encoding runs past the end of the block");
	store_le64(out.data + out.used, base_);
	out.used += 8;
}

void pack_decoder::run_until(sink& out, size_t wanted)
{
	while (out.used < wanted)
		instruction(out, 1);
	if (out.used != wanted)
		throw error("the encoding runs past the end of the block");
}

void pack_decoder::instruction(sink& out, size_t times)
{
	uint8_t b = byte();
	unsigned nibble = b & 0xf;
	auto tag = static_cast<pack_tag>(b >> 4);
	auto wide_count = [&] { return (size_t(nibble) << 8) | byte(); };
	// A count applies to the next instruction; a later count replaces it.
	while (tag == pack_tag::count || tag == pack_tag::count_wide) {
		times = tag == pack_tag::count ? nibble : wide_count();
		b = byte();
		nibble = b & 0xf;
		tag = static_cast<pack_tag>(b >> 4);
	}
	auto once = [&](const char* what) {
		if (times != 1)
			throw error(cat("a count before ", what));
	};
	switch (tag) {
	case pack_tag::set:
		base_ = operand(nibble);
		for (size_t i = 0; i < times; ++i)
			emit_base(out);
		return;
	case pack_tag::pos:
	case pack_tag::neg:
	case pack_tag::pos_wide:
	case pack_tag::neg_wide: {
		bool wide = tag == pack_tag::pos_wide || tag == pack_tag::neg_wide;
		uint64_t delta = wide ? operand(nibble) : nibble;
		bool up = tag == pack_tag::pos || tag == pack_tag::pos_wide;
		for (size_t i = 0; i < times; ++i) {
			base_ = up ? base_ + delta : base_ - delta;
			emit_base(out);
		}
		return;
	}
	case pack_tag::repeat:
	case pack_tag::repeat_wide: {
		once("a repeat");
		size_t n = tag == pack_tag::repeat ? nibble : wide_count();
		for (size_t i = 0; i < n; ++i)
			emit_base(out);
		return;
	}
	case pack_tag::count:
	case pack_tag::count_wide:
		break;
	case pack_tag::literal:
	case pack_tag::literal_wide: {
		once("a literal");
		uint64_t len = tag == pack_tag::literal ? nibble : operand(nibble);
		if (len > in_.size() - pos_)
			throw error("a literal runs past the end of the record");
		if (len > out.size - out.used)
			throw error("the encoding runs past the end of the block");
		std::memcpy(out.data + out.used, in_.data() + pos_, len);
		pos_ += len;
		out.used += len;
		return;
	}
	case pack_tag::shifted_run: {
		// As thin-provisioning-tools 1.x runs it, a count before it is ignored.
		size_t n = wide_count();
		if (8 * n > out.size - out.used)
			throw error("the encoding runs past the end of the block");
		// Each level holds two columns on the stack: a record could
		// otherwise nest runs until the stack overflows.
		if (nesting_ == max_nesting)
			throw error(cat("shifted runs nested more than ", max_nesting, " deep"));
		++nesting_;
		uint8_t high[block_size], low[block_size];
		sink h{high, 8 * n}, l{low, 8 * n};
		run_until(h, h.size);
		run_until(l, l.size);
		--nesting_;
		for (size_t i = 0; i < n; ++i) {
			uint64_t v = (load_le64(high + 8 * i) << 24) | (load_le64(low + 8 * i) & 0xffffff);
			store_le64(out.data + out.used, v);
			out.used += 8;
		}
		return;
	}
	}
	throw error(cat("unknown instruction ", unsigned(b >> 4)));
}

void pack_decoder::decode_block(uint8_t* out)
{
	// Each block starts the machine afresh.
	base_ = 0;
	nesting_ = 0;
	sink s{out, block_size};
	run_until(s, block_size);
}

}
