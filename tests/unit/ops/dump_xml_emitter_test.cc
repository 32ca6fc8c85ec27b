#include <catch2/catch.hpp>

#include <sstream>

#include "base/error.h"
#include "ops/dump_xml_emitter.h"

using namespace thinmeta;
using namespace thinmeta::ops;

namespace {

dump_pool_header sample_pool()
{
	return {5, 9, 1, 2, 128, 4096};
}

dump_device_header sample_device(uint64_t id)
{
	return {id, {3, 7, 1, 2}};
}

}

TEST_CASE("the XML emitter prints 0.9.0's element layout", "[dump][xml]")
{
	std::ostringstream out;
	{
		dump_xml_emitter e(out);
		e.begin_pool(sample_pool());
		e.begin_device(sample_device(1));
		e.run({0, 10, 2, 0});
		e.run({100, 20, 1, 1});
		e.end_device();
		e.begin_device(sample_device(2));
		e.end_device();
		e.end_pool();
		e.flush();
	}
	CHECK(out.str() ==
	      "<superblock uuid=\"\" time=\"5\" transaction=\"9\" flags=\"1\" version=\"2\" data_block_size=\"128\" "
	      "nr_data_blocks=\"4096\">\n"
	      "  <device dev_id=\"1\" mapped_blocks=\"3\" transaction=\"7\" creation_time=\"1\" snap_time=\"2\">\n"
	      "    <range_mapping origin_begin=\"0\" data_begin=\"10\" length=\"2\" time=\"0\"/>\n"
	      "    <single_mapping origin_block=\"100\" data_block=\"20\" time=\"1\"/>\n"
	      "  </device>\n"
	      "  <device dev_id=\"2\" mapped_blocks=\"3\" transaction=\"7\" creation_time=\"1\" snap_time=\"2\">\n"
	      "  </device>\n"
	      "</superblock>\n");
}

TEST_CASE("the XML emitter prints full 64-bit numbers", "[dump][xml]")
{
	std::ostringstream out;
	dump_xml_emitter e(out);
	e.run({UINT64_MAX, (uint64_t(1) << 40) - 1, 1, 0xFFFFFF});
	e.flush();
	CHECK(out.str() == "<single_mapping origin_block=\"18446744073709551615\" data_block=\"1099511627775\" "
	                   "time=\"16777215\"/>\n");
}

TEST_CASE("the XML emitter holds text back until flushed", "[dump][xml]")
{
	std::ostringstream out;
	dump_xml_emitter e(out);
	e.begin_pool(sample_pool());
	CHECK(out.str().empty());
	e.flush();
	CHECK(out.str().size() > 0);
}

TEST_CASE("the XML emitter reports a failed stream", "[dump][xml]")
{
	std::ostringstream out;
	dump_xml_emitter e(out);
	CHECK_NOTHROW(e.check_output());
	out.setstate(std::ios::badbit);
	CHECK_THROWS_AS(e.check_output(), error);
	e.begin_pool(sample_pool());
	CHECK_THROWS_WITH(e.flush(), "cannot write the dump: the output stream failed");
}
