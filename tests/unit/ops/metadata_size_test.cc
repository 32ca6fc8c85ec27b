#include <catch2/catch.hpp>

#include "base/error.h"
#include "ops/metadata_size.h"

using namespace thinmeta;
using namespace thinmeta::ops;

TEST_CASE("size units are letters or leading parts of names", "[metadata_size]")
{
	CHECK(find_size_unit("b") == 0u);
	CHECK(find_size_unit("s") == 1u);
	CHECK(find_size_unit("k") == 2u);
	CHECK(find_size_unit("K") == 3u);
	CHECK(find_size_unit("Y") == 17u);
	CHECK(find_size_unit("kib") == 2u);
	CHECK(find_size_unit("kilo") == 3u);
	CHECK(find_size_unit("sectors") == 1u);
	CHECK(find_size_unit("zeta") == 15u);
	CHECK_FALSE(find_size_unit("x"));
	CHECK_FALSE(find_size_unit(""));
	CHECK_FALSE(find_size_unit("bytesx"));
}

TEST_CASE("numeric output forms", "[metadata_size]")
{
	CHECK(parse_numeric_output("") == numeric_output::plain);
	CHECK(parse_numeric_output("sh") == numeric_output::short_unit);
	CHECK(parse_numeric_output("long") == numeric_output::long_unit);
	CHECK_THROWS_AS(parse_numeric_output("longer"), error);
}

TEST_CASE("the estimate follows 0.9.0", "[metadata_size]")
{
	metadata_size_options o;
	o.block_size = "64k";
	o.pool_size = "1t";
	o.max_thins = "1000";
	metadata_size_estimate e = estimate_metadata_size(o);
	CHECK(e.nr_blocks == 1 + (uint64_t(1) << 24) / 126 + 1000);
	CHECK(e.line == "thin_metadata_size - 1073224 sectors estimated metadata area size for "
	                "\"--block-size=64kibibytes --pool-size=1tebibytes --max-thins=1000\"");
	CHECK(e.notes.empty());
	o.unit = "m";
	o.numeric = numeric_output::short_unit;
	CHECK(estimate_metadata_size(o).line == "524.04m");
	o.unit = "G";
	o.numeric = numeric_output::long_unit;
	CHECK(estimate_metadata_size(o).line == "0.55gigabytes");
	o.unit = "T";
	o.numeric = numeric_output::plain;
	CHECK(estimate_metadata_size(o).line == "5.49e-04");
	o.pool_size = "64k";
	CHECK_THROWS_WITH(estimate_metadata_size(o), "--pool-size: the pool must be larger than a block");
}
