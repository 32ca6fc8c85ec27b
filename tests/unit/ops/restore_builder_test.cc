#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "base/text.h"
#include "io/aligned_buffer.h"
#include "ops/restore_builder.h"
#include "pdata/bulk_block_writer.h"
#include "pdata/scratch_image.h"
#include "thin/superblock.h"

using namespace thinmeta;
using namespace thinmeta::ops;
using thinmeta::test::scratch_image;

namespace {

struct collected_warnings final : restore_warnings {
	void warning(const std::string& text) override { texts.push_back(text); }
	std::vector<std::string> texts;
};

// One device mapping `length` blocks from 0, straight from events.
void build_one_device(restore_events& b, uint64_t length)
{
	superblock_event sb;
	sb.data_block_size = 128;
	sb.nr_data_blocks = length;
	b.begin_superblock(sb);
	device_event d;
	d.dev_id = 3;
	b.begin_device(d);
	mapping_event m;
	m.length = length;
	b.mapping(m);
	b.end_device();
	b.end_superblock();
}

thin::superblock read_sb(io::block_device& dev)
{
	io::aligned_buffer raw(1);
	dev.read_block(0, raw.data());
	REQUIRE(thin::check_superblock(raw.data(), 0) == "");
	return thin::superblock::decode(raw.data());
}

}

TEST_CASE("restore_builder says exactly how much room it needs", "[restore_builder]")
{
	// Enough leaves to need a second metadata bitmap (more than 16320 blocks).
	const uint64_t length = 252 * 16400;
	collected_warnings warnings;
	uint64_t needed = 0;
	{
		scratch_image img(20000);
		restore_builder b(*img.dev, 20000, {}, warnings);
		build_one_device(b, length);
		REQUIRE(b.complete());
		thin::superblock sb = read_sb(*img.dev);
		needed = sb.metadata_sm.nr_allocated;
		CHECK(needed == b.nr_blocks_used());
		CHECK(needed > 16400);
	}
	for (uint64_t have : {uint64_t(1000), needed - 1}) {
		scratch_image img(have);
		restore_builder b(*img.dev, have, {}, warnings);
		try {
			build_one_device(b, length);
			FAIL("a restore into " << have << " blocks worked");
		} catch (const pdata::output_too_small& e) {
			CHECK(std::string(e.what()) == cat(img.path, " is too small: the metadata needs ", needed, " blocks (",
			                                   needed * 4096, " bytes, ", (needed * 4096 + (1 << 20) - 1) >> 20,
			                                   " MiB) but it has ", have, " blocks (", have * 4096, " bytes, ",
			                                   (have * 4096 + (1 << 20) - 1) >> 20, " MiB)"));
		}
		CHECK_FALSE(b.complete());
	}
	scratch_image img(needed);
	restore_builder b(*img.dev, needed, {}, warnings);
	build_one_device(b, length);
	thin::superblock sb = read_sb(*img.dev);
	CHECK(sb.metadata_sm.nr_blocks == needed);
	CHECK(sb.metadata_sm.nr_allocated == needed);
	CHECK(sb.metadata_nr_blocks == needed);
	CHECK(warnings.texts.empty());
}

TEST_CASE("restore_builder wants its events in order", "[restore_builder]")
{
	scratch_image img(100);
	collected_warnings warnings;
	restore_builder b(*img.dev, 100, {}, warnings);
	CHECK_THROWS_WITH(b.begin_device({}), "a device outside the superblock");
	CHECK_THROWS_WITH(b.mapping({}), "a mapping outside any device or def");
	CHECK_THROWS_WITH(b.end_superblock(), "the end of a superblock that was not begun");
	superblock_event sb;
	sb.data_block_size = 128;
	sb.nr_data_blocks = 10;
	b.begin_superblock(sb);
	CHECK_THROWS_WITH(b.begin_superblock(sb), "a second superblock");
	CHECK_THROWS_WITH(b.end_device(), "the end of a device that was not begun");
	b.begin_def("a");
	CHECK_THROWS_WITH(b.begin_device({}), "a device inside def \"a\"");
	CHECK_THROWS_WITH(b.end_superblock(), "the superblock ends inside def \"a\"");
	b.end_def();
	b.end_superblock();
	CHECK(b.complete());
	CHECK(warnings.texts == std::vector<std::string>{"def \"a\" is never referenced"});
}

TEST_CASE("restore_builder applies the overrides", "[restore_builder]")
{
	scratch_image img(100);
	collected_warnings warnings;
	restore_overrides o;
	o.transaction_id = 12;
	o.data_block_size = 256;
	o.nr_data_blocks = 5000;
	restore_builder b(*img.dev, 100, o, warnings);
	build_one_device(b, 7);
	thin::superblock sb = read_sb(*img.dev);
	CHECK(sb.trans_id == 12);
	CHECK(sb.data_block_size == 256);
	CHECK(sb.data_sm.nr_blocks == 5000);
	CHECK(sb.data_sm.nr_allocated == 7);
	CHECK(sb.version == 2);
}
