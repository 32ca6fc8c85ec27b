// The image half of tests/interop/test_pool_metadata_images.py: writes the
// metadata a long pool_metadata workload leaves at a few of its commits to
// files, each with a listing of what it must hold (devices, details and
// every mapping), for 0.9.0's thin_check and thin_dump to judge. Hidden
// ([.image]): it runs only when the interop test names the output
// directory in THINMETA_IMAGE_DIR.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <string>

#include "pool_workload.h"
#include "thin/block_time.h"

using namespace thinmeta;

namespace {

void write_listing(thin::pool_metadata& pmd, std::ostream& out)
{
	pdata::btree_value_type details_vt(thin::device_details_size);
	pdata::btree_value_type mapping_vt(8);
	pdata::btree_info details{&pmd.tm(), 1, &details_vt};
	pdata::btree_info mappings{&pmd.tm(), 1, &mapping_vt};
	out << "superblock " << pmd.transaction_id() << ' ' << pmd.time() << ' ' << pmd.data_nr_blocks() << '\n';
	pdata::btree_walk(details, pmd.details_root(), [&](uint64_t dev, const uint8_t* v) {
		thin::device_details d = thin::device_details::decode(v);
		out << "device " << dev << ' ' << d.mapped_blocks << ' ' << d.transaction_id << ' ' << d.creation_time
		    << ' ' << d.snapshotted_time << '\n';
		uint8_t root[8];
		REQUIRE(pdata::btree_lookup({&pmd.tm(), 1, &mapping_vt}, pmd.mapping_root(), {&dev, 1}, root));
		pdata::btree_walk(mappings, load_le64(root), [&](uint64_t vblock, const uint8_t* m) {
			thin::block_time bt = thin::block_time::unpack(load_le64(m));
			out << "map " << dev << ' ' << vblock << ' ' << bt.block << ' ' << bt.time << '\n';
		});
	});
}

}

TEST_CASE("pool_metadata writes images for 0.9.0's tools to check", "[.image]")
{
	const char* dir = std::getenv("THINMETA_IMAGE_DIR");
	REQUIRE(dir);
	io::memory_block_store store(4096);
	unsigned written = 0;
	test::run_pool_workload(store, [&](unsigned nr, bool before, thin::pool_metadata& pmd) {
		if (before)
			return true;
		bool held = pmd.metadata_snap() != 0;
		// After the details tree split with a metadata snapshot held, after
		// the deletes, and after the data device grew.
		if ((held && written == 0) || nr == 13 || nr == 15) {
			std::string base = std::string(dir) + "/commit-" + std::to_string(nr);
			std::ofstream img(base + ".img", std::ios::binary);
			img.write(reinterpret_cast<const char*>(store.bytes().data()),
			          static_cast<std::streamsize>(store.bytes().size()));
			std::ofstream listing(base + ".txt");
			write_listing(pmd, listing);
			++written;
		}
		return true;
	});
	CHECK(written == 3);
}
