#include "ops/pack_encoder.h"

#include <vector>

#include "base/endian.h"
#include "io/block.h"
#include "ops/pack_format.h"
#include "pdata/btree_node.h"

namespace thinmeta::ops {

namespace {

void put_tag(std::string& out, pack_tag tag, unsigned nibble)
{
	out += static_cast<char>((static_cast<unsigned>(tag) << 4) | (nibble & 0xf));
}

template <typename T>
void put_le(std::string& out, T v)
{
	char buf[sizeof(T)];
	store_le<T>(buf, v);
	out.append(buf, sizeof(T));
}

// A tag whose operand follows in the narrowest of 1, 2, 4 or 8 bytes.
void put_wide(std::string& out, pack_tag tag, uint64_t v)
{
	if (v <= UINT8_MAX) {
		put_tag(out, tag, 1);
		put_le<uint8_t>(out, static_cast<uint8_t>(v));
	} else if (v <= UINT16_MAX) {
		put_tag(out, tag, 2);
		put_le<uint16_t>(out, static_cast<uint16_t>(v));
	} else if (v <= UINT32_MAX) {
		put_tag(out, tag, 4);
		put_le<uint32_t>(out, static_cast<uint32_t>(v));
	} else {
		put_tag(out, tag, 8);
		put_le<uint64_t>(out, v);
	}
}

// A 12-bit count: in the nibble when it fits, else nibble and a byte.
void put_counted(std::string& out, pack_tag narrow, pack_tag wide, uint64_t count)
{
	if (count < 16) {
		put_tag(out, narrow, static_cast<unsigned>(count));
	} else {
		put_tag(out, wide, static_cast<unsigned>(count >> 8));
		out += static_cast<char>(count & 0xff);
	}
}

// `count` steps of `delta` up (or down) from the base.
void put_steps(std::string& out, bool up, uint64_t delta, uint64_t count)
{
	if (count != 1)
		put_counted(out, pack_tag::count, pack_tag::count_wide, count);
	if (delta < 16)
		put_tag(out, up ? pack_tag::pos : pack_tag::neg, static_cast<unsigned>(delta));
	else
		put_wide(out, up ? pack_tag::pos_wide : pack_tag::neg_wide, delta);
}

void encode_shifted(std::span<const uint64_t> values, std::string& out)
{
	size_t n = values.size();
	put_tag(out, pack_tag::shifted_run, static_cast<unsigned>(n >> 8));
	out += static_cast<char>(n & 0xff);
	std::vector<uint64_t> high(n), low(n);
	for (size_t i = 0; i < n; ++i) {
		high[i] = values[i] >> 24;
		low[i] = values[i] & 0xffffff;
	}
	encode_pack_numbers(high, out);
	encode_pack_numbers(low, out);
}

std::vector<uint64_t> column(const uint8_t* p, size_t n)
{
	std::vector<uint64_t> v(n);
	for (size_t i = 0; i < n; ++i)
		v[i] = load_le64(p + 8 * i);
	return v;
}

}

void encode_pack_literal(std::span<const uint8_t> bytes, std::string& out)
{
	if (bytes.size() < 16)
		put_tag(out, pack_tag::literal, static_cast<unsigned>(bytes.size()));
	else
		put_wide(out, pack_tag::literal_wide, bytes.size());
	out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void encode_pack_numbers(std::span<const uint64_t> ns, std::string& out)
{
	if (ns.empty())
		return;
	uint64_t base = ns[0];
	put_wide(out, pack_tag::set, base);
	size_t i = 1;
	while (i < ns.size()) {
		uint64_t n = ns[i];
		uint64_t count = 0;
		if (n == base) {
			while (i < ns.size() && ns[i] == base && count < 4095) {
				++i;
				++count;
			}
			put_counted(out, pack_tag::repeat, pack_tag::repeat_wide, count);
			continue;
		}
		bool up = n > base;
		uint64_t delta = up ? n - base : base - n;
		while (i < ns.size() && count < 4095 && ns[i] == (up ? base + delta : base - delta)) {
			base = up ? base + delta : base - delta;
			++i;
			++count;
		}
		put_steps(out, up, delta, count);
	}
}

void encode_pack_block(const uint8_t* block, pdata::block_kind kind, std::string& out)
{
	std::span<const uint8_t> whole(block, block_size);
	if (kind != pdata::block_kind::btree_node) {
		encode_pack_literal(whole, out);
		return;
	}
	pdata::node_view n(block);
	uint64_t max = n.max_entries();
	bool leaf = n.flags() == pdata::leaf_node;
	// Values are numbers to encode when they are 8 bytes: internal nodes'
	// children and mapping leaves' block_times.
	bool numeric_values = !leaf || n.value_size() == 8;
	uint64_t columns_end = pdata::node_header_size + max * (numeric_values ? 16 : 8);
	if (max == 0 || columns_end > block_size) {
		encode_pack_literal(whole, out);
		return;
	}
	encode_pack_literal(whole.first(pdata::node_header_size), out);
	encode_pack_numbers(column(block + pdata::node_header_size, max), out);
	if (numeric_values) {
		auto values = column(block + pdata::node_header_size + 8 * max, max);
		if (leaf)
			encode_shifted(values, out);
		else
			encode_pack_numbers(values, out);
	}
	if (columns_end < block_size)
		encode_pack_literal(whole.subspan(columns_end), out);
}

}
