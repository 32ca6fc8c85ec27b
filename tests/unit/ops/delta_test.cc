#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "io/aligned_buffer.h"
#include "io/block_device.h"
#include "ops/delta_output.h"
#include "ops/delta_shared.h"
#include "ops/delta_walk.h"
#include "ops/xml_writer.h"
#include "pdata/btree_node.h"
#include "support/temp_file.h"
#include "thin/block_time.h"

using namespace thinmeta;
using namespace thinmeta::ops;

namespace {

// Mapping-tree nodes written into an image file.
class mapping_image {
public:
	mapping_image(const test::temp_dir& dir, uint64_t nr_blocks)
	    : dev_(io::block_device::create_file(dir.file("meta"), nr_blocks)), buf_(1)
	{
	}

	// A leaf mapping keys [first, first + n) to data blocks data, data + 1, ...
	void leaf(block_address where, uint64_t first, uint32_t n, uint64_t data, uint32_t step = 1)
	{
		std::vector<std::pair<uint64_t, uint64_t>> entries;
		for (uint32_t i = 0; i < n; ++i)
			entries.push_back({first + uint64_t(i) * step, data + i});
		leaf(where, entries);
	}

	void leaf(block_address where, const std::vector<std::pair<uint64_t, uint64_t>>& entries)
	{
		pdata::node_mut m(buf_.data());
		m.init(pdata::leaf_node, 8, where);
		m.set_nr_entries(static_cast<uint32_t>(entries.size()));
		for (uint32_t i = 0; i < entries.size(); ++i) {
			m.set_key(i, entries[i].first);
			m.set_value64(i, thin::block_time{entries[i].second, 3}.pack());
		}
		m.seal();
		dev_.write_block(where, buf_.data());
	}

	void internal(block_address where, const std::vector<std::pair<uint64_t, block_address>>& children)
	{
		pdata::node_mut m(buf_.data());
		m.init(pdata::internal_node, 8, where);
		m.set_nr_entries(static_cast<uint32_t>(children.size()));
		for (uint32_t i = 0; i < children.size(); ++i) {
			m.set_key(i, children[i].first);
			m.set_value64(i, children[i].second);
		}
		m.seal();
		dev_.write_block(where, buf_.data());
	}

	const io::block_device& dev() const { return dev_; }

private:
	io::block_device dev_;
	io::aligned_buffer buf_;
};

// Records what the walk reports, one line each.
class recording_sink final : public delta_sink {
public:
	void mapping(delta_kind kind, uint64_t v, uint64_t l, uint64_t r) override
	{
		lines.push_back(std::string(delta_kind_name(kind)) + " " + std::to_string(v) + " " +
		                std::to_string(kind == delta_kind::right_only ? 0 : l) + " " +
		                std::to_string(kind == delta_kind::left_only ? 0 : r));
	}
	void shared(const shared_subtree& s) override
	{
		subtrees.push_back(s);
		lines.push_back("shared " + std::to_string(s.block));
	}
	std::vector<std::string> lines;
	std::vector<shared_subtree> subtrees;
};

}

TEST_CASE("simple delta output merges touching ranges of one kind", "[delta]")
{
	std::ostringstream out;
	{
		xml_writer xml(out);
		simple_delta_writer w(xml);
		w.add(delta_kind::same, 0, 5);
		w.add(delta_kind::same, 5, 7);
		w.add(delta_kind::same, 8, 9);
		w.add(delta_kind::different, 9, 10);
		w.add(delta_kind::left_only, 10, 12);
		w.finish();
	}
	CHECK(out.str() == "<same begin=\"0\" length=\"7\"/>\n"
	                   "<same begin=\"8\" length=\"1\"/>\n"
	                   "<different begin=\"9\" length=\"1\"/>\n"
	                   "<left_only begin=\"10\" length=\"2\"/>\n");
}

TEST_CASE("verbose delta output cuts pieces where data blocks stop running", "[delta]")
{
	std::ostringstream out;
	{
		xml_writer xml(out);
		verbose_delta_writer w(xml);
		w.add(delta_kind::same, 0, 10, 10);
		w.add(delta_kind::same, 1, 11, 11);
		w.add(delta_kind::same, 2, 50, 50);  // data jumps: a new piece, same group
		w.add(delta_kind::different, 3, 51, 90);
		w.add(delta_kind::different, 4, 52, 95);  // right side jumps
		w.add(delta_kind::right_only, 6, 0, 7);
		w.add(delta_kind::right_only, 7, 0, 8);
		w.finish();
	}
	CHECK(out.str() == "<same>\n"
	                   "  <range begin=\"0\" data_begin=\"10\" length=\"2\"/>\n"
	                   "  <range begin=\"2\" data_begin=\"50\" length=\"1\"/>\n"
	                   "</same>\n"
	                   "<different>\n"
	                   "  <range begin=\"3\" left_data_begin=\"51\" right_data_begin=\"90\" length=\"1\"/>\n"
	                   "  <range begin=\"4\" left_data_begin=\"52\" right_data_begin=\"95\" length=\"1\"/>\n"
	                   "</different>\n"
	                   "<right_only>\n"
	                   "  <range begin=\"6\" data_begin=\"7\" length=\"2\"/>\n"
	                   "</right_only>\n");
}

TEST_CASE("the delta walk skips subtrees both trees share", "[delta]")
{
	test::temp_dir dir;
	mapping_image img(dir, 64);
	// Leaves 10, 11, 12 hold keys 0-99, 100-199, 200-299; 13 is a copy of 11
	// with one block remapped.
	img.leaf(10, 0, 100, 1000);
	img.leaf(11, 100, 100, 1100);
	img.leaf(12, 200, 100, 1200);
	std::vector<std::pair<uint64_t, uint64_t>> changed;
	for (uint64_t k = 100; k < 200; ++k)
		changed.push_back({k, k == 150 ? 5000 : 1000 + k});
	img.leaf(13, changed);
	img.internal(20, {{0, 10}, {100, 11}, {200, 12}});
	img.internal(21, {{0, 10}, {100, 13}, {200, 12}});

	recording_sink sink;
	auto counts = walk_delta(img.dev(), {20, "left"}, {21, "right"}, sink);
	// Only the two differing leaves are read.
	CHECK(counts.left == 100);
	CHECK(counts.right == 100);
	REQUIRE(sink.subtrees.size() == 2);
	CHECK(sink.lines.front() == "shared 10");
	CHECK(sink.lines.back() == "shared 12");
	CHECK(sink.subtrees[0].keys.begin == 0);
	CHECK(*sink.subtrees[0].keys.end == 100);
	CHECK(!sink.subtrees[1].keys.end);
	CHECK(std::count(sink.lines.begin(), sink.lines.end(), "different 150 1150 5000") == 1);
	CHECK(std::count_if(sink.lines.begin(), sink.lines.end(),
	                    [](const std::string& l) { return l.rfind("same ", 0) == 0; }) == 99);

	// The shared leaves are full between their bounds: the count proves it
	// (the second has no upper bound, so its last leaf is read).
	auto spans = prove_spans_full(img.dev(), sink.subtrees, 200, "left");
	REQUIRE(spans);
	CHECK((*spans)[0].begin == 0);
	CHECK((*spans)[0].end == 100);
	CHECK((*spans)[1].begin == 200);
	CHECK((*spans)[1].end == 300);
	// A count that does not add up proves nothing.
	CHECK(!prove_spans_full(img.dev(), sink.subtrees, 199, "left"));
}

TEST_CASE("the delta walk finds sharing between trees of different heights", "[delta]")
{
	test::temp_dir dir;
	mapping_image img(dir, 64);
	img.leaf(10, 0, 100, 1000);
	img.leaf(11, 100, 100, 1100);
	img.leaf(12, 200, 100, 1200);
	img.leaf(13, 300, 50, 7000, 2);  // keys 300, 302, ... 398: holes
	img.internal(20, {{0, 10}, {100, 11}, {200, 12}});
	// Left: two levels taller, the right tree's leaves and one more.
	img.internal(21, {{0, 10}, {100, 11}});
	img.internal(25, {{200, 12}, {300, 13}});
	img.internal(22, {{0, 21}, {200, 25}});
	img.internal(23, {{0, 22}});

	recording_sink sink;
	auto counts = walk_delta(img.dev(), {23, "left"}, {20, "right"}, sink);
	CHECK(counts.left == 50);
	CHECK(counts.right == 0);
	std::vector<std::string> want{"shared 10", "shared 11", "shared 12"};
	for (uint64_t i = 0; i < 50; ++i)
		want.push_back("left_only " + std::to_string(300 + 2 * i) + " " + std::to_string(7000 + i) + " 0");
	CHECK(sink.lines == want);

	// One tree twice is one shared subtree, its root.
	recording_sink same;
	CHECK(walk_delta(img.dev(), {23, "left"}, {23, "right"}, same).left == 0);
	REQUIRE(same.subtrees.size() == 1);
	CHECK(same.subtrees[0].block == 23);
	CHECK(same.subtrees[0].height == 3);

	// Holes in a shared subtree: the count cannot reach the spans, and the
	// subtree is scanned instead.
	img.internal(26, {{200, 12}, {300, 13}});
	recording_sink copy;
	walk_delta(img.dev(), {25, "left"}, {26, "right"}, copy);
	REQUIRE(copy.subtrees.size() == 2);
	CHECK(!prove_spans_full(img.dev(), copy.subtrees, 150, "left"));
	uint64_t seen = 0;
	scan_subtree(img.dev(), copy.subtrees[1], "left", [&](uint64_t v, uint64_t d) {
		CHECK(v == 300 + 2 * seen);
		CHECK(d == 7000 + seen);
		++seen;
	});
	CHECK(seen == 50);
}

TEST_CASE("damage in a tree the walk reads is an error naming the tree and block", "[delta]")
{
	test::temp_dir dir;
	mapping_image img(dir, 64);
	img.leaf(10, 0, 10, 1000);
	img.leaf(11, 5, 10, 1000);  // overlaps its left neighbour's keys
	img.internal(20, {{0, 10}, {10, 11}});
	img.leaf(21, 0, 3, 1);
	recording_sink sink;
	try {
		walk_delta(img.dev(), {20, "device 4"}, {21, "device 5"}, sink);
		FAIL("no error");
	} catch (const error& e) {
		CHECK_THAT(e.what(), Catch::Contains("mapping tree of device 4: block 11"));
		CHECK_THAT(e.what(), Catch::Contains("below the parent's key 10"));
	}
}
