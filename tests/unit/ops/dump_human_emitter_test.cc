#include <catch2/catch.hpp>

#include <sstream>

#include "base/error.h"
#include "ops/dump_human_emitter.h"

using namespace thinmeta;
using namespace thinmeta::ops;

TEST_CASE("the human-readable emitter prints 0.9.0's text", "[dump][human]")
{
	std::ostringstream out;
	{
		dump_human_emitter e(out);
		e.begin_pool({5, 9, 1, 2, 128, 4096});
		e.begin_device({1, {3, 7, 1, 2}});
		e.run({0, 10, 2, 0});
		e.run({100, 20, 1, 1});
		e.end_device();
		e.begin_device({2, {0, 0, 0, 0}});
		e.end_device();
		e.end_pool();
		e.flush();
	}
	CHECK(out.str() == "begin superblock: \"\", 5, 9, 1, 2, 128, 4096\n"
	                   "device: 1\n"
	                   "mapped_blocks: 3\n"
	                   "transaction: 7\n"
	                   "creation time: 1\n"
	                   "snap time: 2\n"
	                   "    (0..1) -> (10..11), 0\n"
	                   "    100 -> 20, 1\n"
	                   "\n"
	                   "device: 2\n"
	                   "mapped_blocks: 0\n"
	                   "transaction: 0\n"
	                   "creation time: 0\n"
	                   "snap time: 0\n"
	                   "\n"
	                   "end superblock\n");
}

TEST_CASE("the human-readable emitter prints a run's last blocks", "[dump][human]")
{
	std::ostringstream out;
	dump_human_emitter e(out);
	e.run({18446744073709551610u, 1099511627770u, 6, 16777215});
	e.flush();
	CHECK(out.str() == "    (18446744073709551610..18446744073709551615) -> (1099511627770..1099511627775), 16777215\n");
}

TEST_CASE("the human-readable emitter writes what it holds when destroyed", "[dump][human]")
{
	std::ostringstream out;
	{
		dump_human_emitter e(out);
		e.end_pool();
		CHECK(out.str().empty());
	}
	CHECK(out.str() == "end superblock\n");
}

TEST_CASE("the human-readable emitter reports a failed stream", "[dump][human]")
{
	std::ostringstream out;
	dump_human_emitter e(out);
	out.setstate(std::ios::failbit);
	CHECK_THROWS_WITH(e.check_output(), "cannot write the dump: the output stream failed");
}
