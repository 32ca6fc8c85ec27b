#include "thin/superblock.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "base/endian.h"
#include "base/text.h"
#include "pdata/block_checksum.h"

namespace thinmeta::thin {

namespace off = superblock_offset;

superblock superblock::decode(const uint8_t* b)
{
	superblock sb;
	sb.flags = load_le32(b + off::flags);
	sb.blocknr = load_le64(b + off::blocknr);
	std::memcpy(sb.uuid.data(), b + off::uuid, sb.uuid.size());
	sb.magic = load_le64(b + off::magic);
	sb.version = load_le32(b + off::version);
	sb.time = load_le32(b + off::time);
	sb.trans_id = load_le64(b + off::trans_id);
	sb.metadata_snap = load_le64(b + off::metadata_snap);
	sb.data_sm = pdata::sm_root::decode(b + off::data_sm);
	sb.metadata_sm = pdata::sm_root::decode(b + off::metadata_sm);
	sb.data_mapping_root = load_le64(b + off::data_mapping_root);
	sb.device_details_root = load_le64(b + off::device_details_root);
	sb.data_block_size = load_le32(b + off::data_block_size);
	sb.metadata_block_size = load_le32(b + off::metadata_block_size);
	sb.metadata_nr_blocks = load_le64(b + off::metadata_nr_blocks);
	sb.compat_flags = load_le32(b + off::compat_flags);
	sb.compat_ro_flags = load_le32(b + off::compat_ro_flags);
	sb.incompat_flags = load_le32(b + off::incompat_flags);
	return sb;
}

void superblock::encode(uint8_t* b) const
{
	std::memset(b, 0, block_size);
	store_le32(b + off::flags, flags);
	store_le64(b + off::blocknr, blocknr);
	std::memcpy(b + off::uuid, uuid.data(), uuid.size());
	store_le64(b + off::magic, magic);
	store_le32(b + off::version, version);
	store_le32(b + off::time, time);
	store_le64(b + off::trans_id, trans_id);
	store_le64(b + off::metadata_snap, metadata_snap);
	data_sm.encode(b + off::data_sm);
	metadata_sm.encode(b + off::metadata_sm);
	store_le64(b + off::data_mapping_root, data_mapping_root);
	store_le64(b + off::device_details_root, device_details_root);
	store_le32(b + off::data_block_size, data_block_size);
	store_le32(b + off::metadata_block_size, metadata_block_size);
	store_le64(b + off::metadata_nr_blocks, metadata_nr_blocks);
	store_le32(b + off::compat_flags, compat_flags);
	store_le32(b + off::compat_ro_flags, compat_ro_flags);
	store_le32(b + off::incompat_flags, incompat_flags);
	pdata::seal_block(b, pdata::block_kind::superblock);
}

void set_superblock_flags(uint8_t* block, uint32_t flags)
{
	store_le32(block + off::flags, flags);
	pdata::seal_block(block, pdata::block_kind::superblock);
}

std::string check_superblock(const uint8_t* block, block_address where)
{
	using pdata::block_kind;
	if (!pdata::checksum_matches(block, block_kind::superblock)) {
		if (auto kind = pdata::identify_block(block))
			return cat("expected a superblock but found a ", pdata::block_kind_name(*kind));
		return "bad checksum";
	}
	superblock sb = superblock::decode(block);
	if (sb.magic != superblock_magic)
		return cat("bad magic number ", sb.magic, " (expected ", superblock_magic, ")");
	if (sb.blocknr != where)
		return cat("the superblock says it is block ", sb.blocknr);
	if (sb.metadata_block_size != sectors_per_block)
		return cat("metadata block size is ", sb.metadata_block_size, " sectors (expected ", sectors_per_block, ")");
	if (sb.incompat_flags)
		return cat("unsupported incompatible feature flags ", sb.incompat_flags);
	if (sb.data_block_size == 0)
		return "data block size is 0";
	return {};
}

bool looks_like_xml(const uint8_t* block)
{
	size_t i = 0;
	while (i < 64 && std::isspace(block[i]))
		++i;
	return block[i] == '<';
}

}

namespace thinmeta::thin {

std::string superblock_fault_hint(const uint8_t* block, block_address where)
{
	bool zeros = std::all_of(block, block + block_size, [](uint8_t c) { return c == 0; });
	if (where != superblock_location)
		return zeros ? " (the block is all zeros)" : "";
	if (looks_like_xml(block))
		return " (this looks like an XML dump: thin_restore turns a dump into metadata)";
	if (zeros)
		return " (the block is all zeros: this is not thin-pool metadata, or it was never formatted)";
	return {};
}

}
