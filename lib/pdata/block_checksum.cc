#include "pdata/block_checksum.h"

#include "base/crc32c.h"
#include "base/endian.h"
#include "io/block.h"

namespace thinmeta::pdata {

namespace {
uint32_t raw_crc(const uint8_t* block)
{
	return crc32c_update(0xFFFFFFFFu, block + 4, block_size - 4);
}
}

const char* block_kind_name(block_kind kind)
{
	switch (kind) {
	case block_kind::superblock:
		return "superblock";
	case block_kind::btree_node:
		return "b-tree node";
	case block_kind::bitmap:
		return "space map bitmap";
	case block_kind::index:
		return "metadata space map index";
	}
	return "block";
}

uint32_t compute_checksum(const uint8_t* block, block_kind kind)
{
	return raw_crc(block) ^ static_cast<uint32_t>(kind);
}

uint32_t stored_checksum(const uint8_t* block)
{
	return load_le32(block);
}

bool checksum_matches(const uint8_t* block, block_kind kind)
{
	return stored_checksum(block) == compute_checksum(block, kind);
}

void seal_block(uint8_t* block, block_kind kind)
{
	store_le32(block, compute_checksum(block, kind));
}

std::optional<block_kind> identify_block(const uint8_t* block)
{
	uint32_t salt = stored_checksum(block) ^ raw_crc(block);
	for (auto kind : {block_kind::superblock, block_kind::btree_node, block_kind::bitmap, block_kind::index})
		if (salt == static_cast<uint32_t>(kind))
			return kind;
	return std::nullopt;
}

uint64_t stored_location(const uint8_t* block)
{
	return load_le64(block + 8);
}

}
