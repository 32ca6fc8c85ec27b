#include <catch2/catch.hpp>

#include "base/endian.h"
#include "io/aligned_buffer.h"
#include "pdata/block_checksum.h"
#include "thin/block_time.h"
#include "thin/device_details.h"
#include "thin/superblock.h"

using namespace thinmeta;
using namespace thinmeta::thin;

namespace {
// The superblock of the spec's worked example (section 11).
superblock example()
{
	superblock sb;
	sb.time = 1;
	sb.trans_id = 5;
	sb.data_sm = {1000, 4, 4, 5};
	sb.metadata_sm = {1024, 12, 1, 2};
	sb.data_mapping_root = 7;
	sb.device_details_root = 6;
	sb.data_block_size = 128;
	sb.metadata_nr_blocks = 1024;
	return sb;
}
}

TEST_CASE("the spec's example superblock encodes to its recorded checksum", "[superblock]")
{
	io::aligned_buffer buf(1);
	example().encode(buf.data());
	CHECK(load_le32(buf.data()) == 0xced9e74cu);
	CHECK(load_le64(buf.data() + 32) == 27022010u);
	CHECK(load_le32(buf.data() + 40) == 2u);
	CHECK(load_le64(buf.data() + 0x140) == 7u);
	CHECK(load_le32(buf.data() + 0x154) == 8u);
	CHECK(check_superblock(buf.data(), 0).empty());
}

TEST_CASE("superblock fields round-trip", "[superblock]")
{
	io::aligned_buffer buf(1);
	superblock sb = example();
	sb.flags = needs_check_flag;
	sb.metadata_snap = 33;
	sb.uuid[0] = 'x';
	sb.encode(buf.data());
	superblock back = superblock::decode(buf.data());
	CHECK(back.needs_check());
	CHECK(back.metadata_snap == 33);
	CHECK(back.uuid[0] == 'x');
	CHECK(back.data_sm == sb.data_sm);
	CHECK(back.metadata_sm == sb.metadata_sm);
	CHECK(back.trans_id == 5);
}

TEST_CASE("check_superblock names what is wrong", "[superblock]")
{
	io::aligned_buffer buf(1);
	superblock sb = example();

	SECTION("magic")
	{
		sb.magic = 1234;
		sb.encode(buf.data());
		CHECK(check_superblock(buf.data(), 0) == "bad magic number 1234 (expected 27022010)");
	}
	SECTION("location")
	{
		sb.encode(buf.data());
		CHECK(check_superblock(buf.data(), 12) == "the superblock says it is block 0");
	}
	SECTION("checksum")
	{
		sb.encode(buf.data());
		buf.data()[1000] = 1;
		CHECK(check_superblock(buf.data(), 0) == "bad checksum");
	}
	SECTION("incompatible features")
	{
		sb.incompat_flags = 4;
		sb.encode(buf.data());
		CHECK(check_superblock(buf.data(), 0) == "unsupported incompatible feature flags 4");
	}
	SECTION("flags rewritten in place keep the block valid")
	{
		sb.encode(buf.data());
		set_superblock_flags(buf.data(), needs_check_flag);
		CHECK(check_superblock(buf.data(), 0).empty());
		CHECK(superblock::decode(buf.data()).needs_check());
	}
}

TEST_CASE("hints for blocks that are not superblocks", "[superblock]")
{
	io::aligned_buffer buf(1, true);
	CHECK(superblock_fault_hint(buf.data(), 0).find("never formatted") != std::string::npos);
	CHECK(superblock_fault_hint(buf.data(), 7) == " (the block is all zeros)");
	std::string xml = "  <superblock uuid=\"\"";
	std::copy(xml.begin(), xml.end(), buf.data());
	CHECK(looks_like_xml(buf.data()));
	CHECK(superblock_fault_hint(buf.data(), 0).find("XML dump") != std::string::npos);
}

TEST_CASE("block_time packs 40 bits of block and 24 of time", "[block_time]")
{
	CHECK(block_time{10, 0}.pack() == 0x0A000000u);
	CHECK(block_time{20, 1}.pack() == 0x14000001u);
	CHECK(block_time::unpack(0x14000001u) == block_time{20, 1});
	CHECK(block_time::unpack(block_time{max_data_block, max_mapping_time}.pack()) ==
	      block_time{max_data_block, max_mapping_time});
}

TEST_CASE("device details round-trip at the spec's offsets", "[device_details]")
{
	uint8_t raw[24];
	device_details d{3, 7, 1, 2};
	d.encode(raw);
	CHECK(load_le64(raw) == 3u);
	CHECK(load_le64(raw + 8) == 7u);
	CHECK(load_le32(raw + 16) == 1u);
	CHECK(load_le32(raw + 20) == 2u);
	CHECK(device_details::decode(raw) == d);
}
