// The checksum every metadata block carries at offset 0: CRC-32C of bytes
// 4..4095 without the final inversion, XORed with a salt that says what kind
// of block it is. Knowing the salts lets a block be identified by itself.
#pragma once

#include <cstdint>
#include <optional>

namespace thinmeta::pdata {

enum class block_kind : uint32_t {
	superblock = 160774,
	btree_node = 121107,
	bitmap = 240779,
	index = 160478,
};

const char* block_kind_name(block_kind kind);

uint32_t compute_checksum(const uint8_t* block, block_kind kind);
uint32_t stored_checksum(const uint8_t* block);
bool checksum_matches(const uint8_t* block, block_kind kind);
// Writes the checksum into bytes 0..3 (do it last, after every other change).
void seal_block(uint8_t* block, block_kind kind);
// The kind whose salt makes the stored checksum right, if any.
std::optional<block_kind> identify_block(const uint8_t* block);

// Every checksummed block records its own number at offset 8.
uint64_t stored_location(const uint8_t* block);

}
