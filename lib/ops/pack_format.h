// The version-3 pack format of thin_metadata_pack, shared with
// thin-provisioning-tools 1.x so packs travel between the suites.
//
//   header:  le64 magic, le64 version (3), le64 block size (4096),
//            le64 number of blocks in the image
//   records: le64 length, then that many bytes of one zlib stream, which
//            inflates to entries of le64 block number + the encoded block
//
// A block is encoded as instructions of a small machine that emits bytes.
// Each instruction starts with a byte: a tag in the high nibble, a small
// operand in the low nibble. The machine keeps a base value; the number
// instructions emit it as a le64 after changing it. Blocks not packed
// (zeroed, or without a metadata checksum) unpack as zeros.
#pragma once

#include <cstdint>

namespace thinmeta::ops {

inline constexpr uint64_t pack_magic = 0xa537a0aa6309ef77ull;
inline constexpr uint64_t pack_version = 3;
inline constexpr uint64_t pack_block_size = 4096;
inline constexpr uint64_t pack_header_size = 32;
// Blocks per record (zlib stream) that the packer writes.
inline constexpr uint32_t pack_blocks_per_record = 1024;

enum class pack_tag : uint8_t {
	set = 0,          // base = operand of width nibble (1, 2, 4, 8 bytes); emit it
	pos = 1,          // base += nibble; emit
	pos_wide = 2,     // base += operand of width nibble; emit
	neg = 3,          // base -= nibble; emit
	neg_wide = 4,     // base -= operand of width nibble; emit
	repeat = 5,       // emit base nibble times
	repeat_wide = 6,  // emit base (nibble << 8 | next byte) times
	count = 7,        // run the next instruction nibble times
	count_wide = 8,   // run the next instruction (nibble << 8 | next byte) times
	literal = 9,      // copy the next nibble bytes
	literal_wide = 10,  // copy the next (operand of width nibble) bytes
	shifted_run = 11,   // (nibble << 8 | next byte) values v: instructions
	                    // emitting v >> 24 each, then v & 0xffffff each
};

}
