// mapping_forest on a pool's metadata: leaves numbered in block order, each
// device's leaves in key order holding exactly its mappings, and which
// leaves snapshots share.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <vector>

#include "pdata/btree_node.h"
#include "pdata/scratch_image.h"
#include "thin/block_time.h"
#include "thin/mapping_forest.h"
#include "thin/metadata_reader.h"
#include "forest_pool.h"

using namespace thinmeta;
using namespace thinmeta::thin;

TEST_CASE("mapping_forest gives each device's leaves in key order and knows which are shared", "[mapping_forest]")
{
	test::scratch_image image(4096);
	const test::forest_pool want = test::write_forest_pool(*image.dev);

	metadata_reader md({image.path, false, std::nullopt});
	std::vector<thin_device> devices = md.devices();
	REQUIRE(devices.size() == 4);
	mapping_forest forest(md.device(), devices);

	// Read every leaf once, by number: numbers follow block order.
	std::vector<std::vector<std::pair<uint64_t, uint64_t>>> contents(forest.nr_leaves());
	size_t visits = 0;
	forest.read_leaves({}, [&](size_t i, const pdata::node_view& n) {
		++visits;
		for (uint32_t e = 0; e < n.nr_entries(); ++e)
			contents[i].emplace_back(n.key(e), block_time::unpack(n.value64(e)).block);
	});
	CHECK(visits == forest.nr_leaves());
	for (size_t i = 1; i < forest.nr_leaves(); ++i)
		CHECK(forest.leaf_at(i - 1).block < forest.leaf_at(i).block);

	std::map<size_t, std::set<size_t>> reached_by;  // leaf -> devices
	for (size_t d = 0; d < devices.size(); ++d) {
		std::map<uint64_t, uint64_t> got;
		uint64_t last_key = 0;
		bool first = true;
		forest.device_leaves(d, [&](size_t leaf) {
			reached_by[leaf].insert(d);
			for (auto [v, data] : contents[leaf]) {
				CHECK((first || v > last_key));  // key order across leaves
				first = false;
				last_key = v;
				got[v] = data;
			}
		});
		CHECK(got == want.at(devices[d].id));
	}

	// Leaves reached from devices 7 and 9 both are shared; the rest belong
	// to the one device that reaches them. Device 9's writes unshared some.
	size_t shared = 0, unshared_of_9 = 0;
	for (size_t i = 0; i < forest.nr_leaves(); ++i) {
		auto l = forest.leaf_at(i);
		REQUIRE(reached_by.count(i));
		CHECK(l.shared == (reached_by[i].size() > 1));
		if (l.shared) {
			++shared;
		} else {
			CHECK(*reached_by[i].begin() == l.device);
			unshared_of_9 += devices[l.device].id == 9;
		}
	}
	CHECK(shared > 5);
	CHECK(unshared_of_9 >= 2);
	CHECK(forest.nr_leaves() == reached_by.size());

	// A chosen subset is read, and only it, in leaf order.
	std::vector<size_t> chosen;
	forest.read_leaves([](size_t i) { return i % 3 == 1; }, [&](size_t i, const pdata::node_view& n) {
		chosen.push_back(i);
		CHECK(n.nr_entries() == contents[i].size());
	});
	std::vector<size_t> expected;
	for (size_t i = 1; i < forest.nr_leaves(); i += 3)
		expected.push_back(i);
	CHECK(chosen == expected);
}
