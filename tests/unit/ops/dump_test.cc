#include <catch2/catch.hpp>

#include <map>
#include <sstream>
#include <streambuf>
#include <vector>

#include "base/error.h"
#include "ops/dump.h"
#include "ops/dump_xml_emitter.h"
#include "pdata/btree_node.h"
#include "thin/block_time.h"

using namespace thinmeta;
using namespace thinmeta::ops;

namespace {

struct mapping {
	uint64_t origin;
	uint64_t data;
	uint32_t time;
};

// A source held in memory: each device's mappings as a list of leaves.
class memory_source final : public dump_source {
public:
	void add_device(uint64_t id, thin::device_details details, const std::vector<std::vector<mapping>>& leaves)
	{
		devices_.push_back({id, details, 0});
		for (const auto& entries : leaves) {
			std::vector<uint8_t> block(block_size);
			pdata::node_mut leaf(block.data());
			leaf.init(pdata::leaf_node, thin::mapping_value_size, 0);
			for (uint32_t i = 0; i < entries.size(); ++i) {
				leaf.set_key(i, entries[i].origin);
				leaf.set_value64(i, thin::block_time{entries[i].data, entries[i].time}.pack());
			}
			leaf.set_nr_entries(static_cast<uint32_t>(entries.size()));
			leaves_[id].push_back(std::move(block));
		}
	}
	// Only entries [begin, end) of every leaf are handed out.
	void limit_entries(uint32_t begin, uint32_t end)
	{
		begin_ = begin;
		end_ = end;
	}

	const std::string& path() const override { return path_; }
	dump_pool_header pool() const override { return {1, 2, 0, 2, 128, 1000}; }
	std::vector<thin::thin_device> devices() override { return devices_; }
	void mappings(const thin::thin_device& device, mapping_sink& sink) override
	{
		for (const auto& block : leaves_[device.id]) {
			pdata::node_view leaf(block.data());
			sink.leaf_entries(leaf, begin_, std::min(end_, leaf.nr_entries()));
			++leaves_served;
		}
	}

	int leaves_served = 0;

private:
	std::string path_ = "pool.img";
	std::vector<thin::thin_device> devices_;
	std::map<uint64_t, std::vector<std::vector<uint8_t>>> leaves_;
	uint32_t begin_ = 0, end_ = UINT32_MAX;
};

// Takes `room` bytes, then fails every write, as a closed pipe does.
class failing_buf : public std::streambuf {
public:
	explicit failing_buf(size_t room) : room_(room) {}

protected:
	std::streamsize xsputn(const char*, std::streamsize n) override
	{
		if (size_t(n) > room_)
			return 0;
		room_ -= size_t(n);
		return n;
	}
	int_type overflow(int_type c) override { return room_ ? (--room_, c) : traits_type::eof(); }

private:
	size_t room_;
};

const char* const pool_line = "<superblock uuid=\"\" time=\"1\" transaction=\"2\" flags=\"0\" version=\"2\" "
                              "data_block_size=\"128\" nr_data_blocks=\"1000\">\n";

std::string device_line(uint64_t id)
{
	return "  <device dev_id=\"" + std::to_string(id) +
	       "\" mapped_blocks=\"4\" transaction=\"0\" creation_time=\"0\" snap_time=\"0\">\n";
}

memory_source two_devices()
{
	memory_source s;
	// Device 1's run carries on from one leaf into the next.
	s.add_device(1, {4, 0, 0, 0}, {{{0, 10, 0}, {1, 11, 0}}, {{2, 12, 0}, {8, 50, 3}}});
	s.add_device(3, {4, 0, 0, 0}, {{{5, 7, 1}}});
	return s;
}

std::string dump_to_string(memory_source& source, const dump_selection& selection)
{
	std::ostringstream out;
	dump_xml_emitter e(out);
	dump(source, selection, e);
	return out.str();
}

}

TEST_CASE("a dump prints every device with its runs, across leaves", "[dump]")
{
	auto source = two_devices();
	CHECK(dump_to_string(source, {}) ==
	      std::string(pool_line) + device_line(1) +
	          "    <range_mapping origin_begin=\"0\" data_begin=\"10\" length=\"3\" time=\"0\"/>\n"
	          "    <single_mapping origin_block=\"8\" data_block=\"50\" time=\"3\"/>\n"
	          "  </device>\n" +
	          device_line(3) +
	          "    <single_mapping origin_block=\"5\" data_block=\"7\" time=\"1\"/>\n"
	          "  </device>\n"
	          "</superblock>\n");
}

TEST_CASE("a dump prints the chosen devices once each, in id order", "[dump]")
{
	auto source = two_devices();
	CHECK(dump_to_string(source, {{3, 3}, false}) ==
	      std::string(pool_line) + device_line(3) +
	          "    <single_mapping origin_block=\"5\" data_block=\"7\" time=\"1\"/>\n"
	          "  </device>\n"
	          "</superblock>\n");
	CHECK(select_devices(source, {{3, 1, 3}, false}).size() == 2);
	CHECK(select_devices(source, {{3, 1, 3}, false})[0].id == 1);
}

TEST_CASE("asking for a device the pool lacks fails before printing", "[dump]")
{
	auto source = two_devices();
	std::ostringstream out;
	dump_xml_emitter e(out);
	CHECK_THROWS_WITH(dump(source, {{1, 2}, false}, e),
	                  "pool.img: there is no device 2 in the metadata (it holds 2 devices)");
	e.flush();
	CHECK(out.str().empty());
}

TEST_CASE("skip_mappings prints devices without reading their mappings", "[dump]")
{
	auto source = two_devices();
	CHECK(dump_to_string(source, {{}, true}) ==
	      std::string(pool_line) + device_line(1) + "  </device>\n" + device_line(3) + "  </device>\n</superblock>\n");
	CHECK(source.leaves_served == 0);
}

TEST_CASE("a dump prints only the entries a source hands over", "[dump]")
{
	memory_source source;
	source.add_device(4, {4, 0, 0, 0}, {{{0, 10, 0}, {1, 11, 0}, {2, 12, 0}, {3, 13, 0}}});
	source.limit_entries(1, 3);
	CHECK(dump_to_string(source, {}) ==
	      std::string(pool_line) + device_line(4) +
	          "    <range_mapping origin_begin=\"1\" data_begin=\"11\" length=\"2\" time=\"0\"/>\n"
	          "  </device>\n"
	          "</superblock>\n");
}

TEST_CASE("a dump stops soon after its output fails", "[dump]")
{
	// 1000 leaves of 252 lone mappings: about 15 MB of XML.
	memory_source source;
	std::vector<std::vector<mapping>> leaves(1000);
	uint64_t v = 0;
	for (auto& leaf : leaves)
		for (int i = 0; i < 252; ++i, v += 2)
			leaf.push_back({v, v, 0});
	source.add_device(0, {252000, 0, 0, 0}, leaves);

	failing_buf buf(100);
	std::ostream out(&buf);
	dump_xml_emitter e(out);
	CHECK_THROWS_WITH(dump(source, dump_selection{}, e), "cannot write the dump: the output stream failed");
	// The first 64 KiB batch fails after about 4 leaves.
	CHECK(source.leaves_served < 10);
}
