#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/text.h"
#include "ops/xml_reader.h"

using namespace thinmeta;
using namespace thinmeta::ops;

namespace {

// A file holding `text`, removed afterwards.
struct xml_file {
	explicit xml_file(const std::string& text)
	{
		path = (std::filesystem::temp_directory_path() /
		        ("thinmeta-xml-" + std::to_string(reinterpret_cast<uintptr_t>(this)) + ".xml"))
		           .string();
		std::ofstream(path) << text;
	}
	~xml_file() { std::filesystem::remove(path); }
	std::string path;
};

// Writes each event as a line, with the reader's place.
class event_log final : public restore_events {
public:
	explicit event_log(const xml_reader*& reader) : reader_(reader) {}

	void begin_superblock(const superblock_event& sb) override
	{
		add(cat("superblock uuid=", sb.uuid, " time=", sb.time, " transaction=", sb.transaction,
		        " flags=", sb.flags, " version=", sb.version ? cat(*sb.version) : "-", " block=",
		        sb.data_block_size, " nr=", sb.nr_data_blocks,
		        " snap=", sb.metadata_snap ? cat(*sb.metadata_snap) : "-"));
	}
	void end_superblock() override { add("/superblock"); }
	void begin_def(std::string_view name) override { add(cat("def ", name)); }
	void end_def() override { add("/def"); }
	void begin_device(const device_event& d) override
	{
		add(cat("device ", d.dev_id, " mapped=", d.mapped_blocks ? cat(*d.mapped_blocks) : "-", " transaction=",
		        d.transaction, " ctime=", d.creation_time, " stime=", d.snap_time));
	}
	void end_device() override { add("/device"); }
	void mapping(const mapping_event& m) override
	{
		add(cat("map ", m.origin_begin, " ", m.data_begin, " ", m.length, " ", m.time));
	}
	void ref(std::string_view name) override { add(cat("ref ", name)); }

	std::vector<std::string> lines;
	std::string fail_on;  // throws bad_input on the event whose text starts so

private:
	void add(const std::string& text)
	{
		xml_position at = reader_->position();
		lines.push_back(cat(at.line, ":", at.column, " ", text));
		if (!fail_on.empty() && text.rfind(fail_on, 0) == 0)
			throw bad_input("refused");
	}

	const xml_reader*& reader_;
};

struct read_result {
	std::vector<std::string> lines;
	std::string error;
};

read_result read_xml(const std::string& text, const std::string& fail_on = "")
{
	xml_file file(text);
	const xml_reader* reader = nullptr;
	event_log log(reader);
	log.fail_on = fail_on;
	no_progress progress;
	xml_reader r(file.path, log, progress);
	reader = &r;
	read_result out;
	try {
		r.read();
	} catch (const bad_input& e) {
		std::string what = e.what();
		CHECK(what.rfind(file.path + ":", 0) == 0);
		out.error = what.substr(file.path.size() + 1);
	}
	out.lines = log.lines;
	return out;
}

}

TEST_CASE("xml_reader turns both forms into events with their places", "[xml_reader]")
{
	auto r = read_xml(
	    "<superblock uuid=\"abc\" time=\"3\" transaction=\"4\" data_block_size=\"128\" nr_data_blocks=\"99\">\n"
	    "  <def name=\"x\">\n"
	    "    <range_mapping origin_begin=\"0\" data_begin=\"5\" length=\"2\" time=\"1\"/>\n"
	    "  </def>\n"
	    "  <device dev_id=\"7\" transaction=\"1\" creation_time=\"2\" snap_time=\"3\">\n"
	    "    <ref name=\"x\"/>\n"
	    "    <single_mapping origin_block=\"18446744073709551615\" data_block=\"9\" time=\"16777215\"/>\n"
	    "  </device>\n"
	    "</superblock>\n");
	CHECK(r.error == "");
	CHECK(r.lines == std::vector<std::string>{
	                     "1:1 superblock uuid=abc time=3 transaction=4 flags=0 version=- block=128 nr=99 snap=-",
	                     "2:3 def x",
	                     "3:5 map 0 5 2 1",
	                     "4:3 /def",
	                     "5:3 device 7 mapped=- transaction=1 ctime=2 stime=3",
	                     "6:5 ref x",
	                     "7:5 map 18446744073709551615 9 1 16777215",
	                     "8:3 /device",
	                     "9:1 /superblock",
	                 });
}

TEST_CASE("xml_reader keeps the order of errors and events", "[xml_reader]")
{
	std::string text = "<superblock time=\"0\" transaction=\"0\" data_block_size=\"128\" nr_data_blocks=\"9\">\n"
	                   "  <device dev_id=\"1\" transaction=\"0\" creation_time=\"0\" snap_time=\"0\">\n";
	for (int i = 0; i < 20000; ++i)
		text += cat("    <single_mapping origin_block=\"", i, "\" data_block=\"1\" time=\"0\"/>\n");
	text += "    <bad/>\n  </device>\n</superblock>\n";

	// Every event before the error arrives, and nothing after it.
	auto r = read_xml(text);
	CHECK(r.error == "20003:5: unknown element <bad>");
	REQUIRE(r.lines.size() == 20002);
	CHECK(r.lines.back() == "20002:5 map 19999 1 1 0");

	// An error taking an event stops the reader there, with that place (the
	// log holds the refused event too).
	r = read_xml(text, "map 15000 ");
	CHECK(r.error == "15003:5: refused");
	CHECK(r.lines.size() == 15003);
}

TEST_CASE("xml_reader refuses what the format does not hold", "[xml_reader]")
{
	std::string sb = "<superblock time=\"0\" transaction=\"0\" data_block_size=\"128\" nr_data_blocks=\"9\">";
	CHECK(read_xml(sb + "<device dev_id=\"4294967296\" transaction=\"0\" creation_time=\"0\" snap_time=\"0\"/>"
	                    "</superblock>")
	          .error == "1:79: <device> attribute dev_id=\"4294967296\" is not a whole number from 0 to 4294967295");
	CHECK(read_xml(sb + "<device dev_id=\"1\" transaction=\"0\" creation_time=\"0\" snap_time=\" 1\"/></superblock>")
	          .error == "1:79: <device> attribute snap_time=\" 1\" is not a whole number from 0 to 4294967295");
	CHECK(read_xml(sb + "<def/></superblock>").error == "1:79: <def> lacks the attribute name");
	CHECK(read_xml(sb + "<ref name=\"a\"/></superblock>").error == "1:79: <ref> cannot be inside <superblock>");
	CHECK(read_xml("<superblock time=\"0\" transaction=\"0\" data_block_size=\"128\"/>").error ==
	      "1:1: <superblock> lacks the attribute nr_data_blocks");
	CHECK(read_xml(sb + "<![CDATA[x]]></superblock>").error ==
	      "1:88: text is not expected here: the format holds only elements and attributes");
	CHECK(read_xml(sb).error == "1:79: no element found");
	// Comments and processing instructions are fine.
	CHECK(read_xml("<?xml version=\"1.0\"?>\n<!-- a dump -->\n" + sb + "<?pi x?><!-- -->\n</superblock>").error == "");
}
