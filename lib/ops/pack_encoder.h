// Encodes one metadata block as pack-machine instructions (pack_format.h).
// B-tree nodes become a literal header, their keys (and 8-byte values) as
// runs of equal steps, block_time values split into data block and time
// columns, and a literal tail; superblocks, bitmaps and index blocks are
// literals, left to zlib. The same encoding as thin-provisioning-tools 1.x.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "pdata/block_checksum.h"

namespace thinmeta::ops {

// Appends the encoding of a 4096-byte block of the given kind to `out`.
void encode_pack_block(const uint8_t* block, pdata::block_kind kind, std::string& out);

// The pieces, exposed for tests: a literal, and a column of numbers.
void encode_pack_literal(std::span<const uint8_t> bytes, std::string& out);
void encode_pack_numbers(std::span<const uint64_t> numbers, std::string& out);

}
