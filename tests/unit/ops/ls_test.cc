#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "ops/ls_fields.h"
#include "ops/ls_grid.h"

using namespace thinmeta;
using namespace thinmeta::ops;

TEST_CASE("human sizes are 0.9.0's", "[ls]")
{
	// Seen from 0.9.0's thin_ls on 64 KiB blocks.
	const std::pair<uint64_t, const char*> seen[] = {
	    {0, "0"},
	    {65536, "64KiB"},
	    {1048576, "1024KiB"},
	    {8388608, "8192KiB"},
	    {8454144, "8MiB"},
	    {10420224, "10MiB"},
	    {65536000, "63MiB"},  // 62.5 MiB rounds up
	    {67043328, "64MiB"},
	    {702087168, "670MiB"},
	    {1073741824, "1024MiB"},
	    {4294967296, "4096MiB"},
	    {10737352704, "10GiB"},
	};
	for (const auto& [bytes, text] : seen)
		CHECK(format_human_size(bytes) == text);
	CHECK(format_human_size(5000) == "5000");
	// Past 64 bits, where 0.9.0 would overflow.
	CHECK(format_human_size(static_cast<unsigned __int128>(1) << 70) == "1024EiB");
}

TEST_CASE("field lists parse as 0.9.0 splits them", "[ls]")
{
	auto f = parse_ls_fields("DEV,MAPPED,HIGHEST_MAPPED_BLOCK,");
	REQUIRE(f.size() == 3);
	CHECK(f[0].name == "DEV");
	CHECK(f[2].quantity == ls_quantity::highest);
	CHECK(parse_ls_fields("").empty());
	CHECK_THROWS_WITH(parse_ls_fields("DEV,,DEV"), Catch::Contains("unknown field ''"));
	CHECK_THROWS_WITH(parse_ls_fields("dev"), Catch::Contains("unknown field 'dev'"));
	CHECK(!needs_mapping_counts(parse_ls_fields("DEV,MAPPED_BLOCKS,TRANSACTION")));
	CHECK(needs_mapping_counts(parse_ls_fields("DEV,SHARED_BYTES")));
}

TEST_CASE("cells in every unit", "[ls]")
{
	ls_row_values row;
	row.id = 7;
	row.details.mapped_blocks = 100;
	row.details.transaction_id = 4;
	row.exclusive = 30;
	row.highest = 999;
	auto cell = [&](const char* name) { return format_ls_cell(parse_ls_fields(name)[0], row, 128); };
	CHECK(cell("DEV") == "7");
	CHECK(cell("SHARED_BLOCKS") == "70");
	CHECK(cell("EXCLUSIVE_SECTORS") == "3840");
	CHECK(cell("MAPPED_BYTES") == "6553600");
	CHECK(cell("SHARED") == "4480KiB");
	CHECK(cell("TRANSACTION") == "4");
	CHECK(cell("HIGHEST_MAPPED_BLOCK") == "999");
	CHECK(cell("HIGHEST_BLOCK") == "999");
	CHECK(cell("HIGHEST_SECTOR") == "127999");
	CHECK(cell("HIGHEST_BYTE") == "65535999");
	// More exclusive than mapped (damaged details): shared is 0, not a wrap.
	row.exclusive = 200;
	CHECK(cell("SHARED_BLOCKS") == "0");
}

TEST_CASE("the grid right-aligns each column and ends cells with a space", "[ls]")
{
	text_grid g;
	g.add_row({"DEV", "MAPPED"});
	g.add_row({"1", "640KiB"});
	g.add_row({"12345", "0"});
	std::ostringstream out;
	g.render(out);
	CHECK(out.str() == "  DEV MAPPED \n    1 640KiB \n12345      0 \n");
}
