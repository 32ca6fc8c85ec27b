#include "pdata/space_map_disk.h"

#include <cstring>

#include "base/text.h"
#include "pdata/block_checksum.h"

namespace thinmeta::pdata {

namespace {
std::string check_checksummed(const uint8_t* block, block_address where, block_kind kind)
{
	if (!checksum_matches(block, kind)) {
		if (auto found = identify_block(block))
			return cat("expected a ", block_kind_name(kind), " but found a ", block_kind_name(*found));
		return "bad checksum";
	}
	if (stored_location(block) != where)
		return cat("the block says it is block ", stored_location(block));
	return {};
}

void init_checksummed(uint8_t* block, block_address where)
{
	std::memset(block, 0, block_size);
	store_le64(block + 8, where);
}
}

std::string check_bitmap_block(const uint8_t* block, block_address where)
{
	return check_checksummed(block, where, block_kind::bitmap);
}

std::string check_index_block(const uint8_t* block, block_address where)
{
	return check_checksummed(block, where, block_kind::index);
}

void init_bitmap_block(uint8_t* block, block_address where)
{
	init_checksummed(block, where);
}

void seal_bitmap_block(uint8_t* block)
{
	seal_block(block, block_kind::bitmap);
}

void init_index_block(uint8_t* block, block_address where)
{
	init_checksummed(block, where);
}

void seal_index_block(uint8_t* block)
{
	seal_block(block, block_kind::index);
}

}
