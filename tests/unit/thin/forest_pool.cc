#include "forest_pool.h"

#include "thin/pool_metadata.h"

namespace thinmeta::test {

forest_pool write_forest_pool(io::block_device& dev)
{
	using namespace thinmeta::thin;
	forest_pool want;
	pool_metadata pmd(dev, {128, true, 256});
	pmd.resize_data_dev(20000);
	pmd.create_thin(7);
	thin_device td = pmd.open_device(7);
	for (uint64_t v = 0; v < 3000; ++v)
		pmd.insert_block(td, v * 2, want[7][v * 2] = pmd.alloc_data_block());
	pmd.commit();
	pmd.close_device(td);
	// A snapshot shares every leaf; writing to it copies the leaves written.
	pmd.create_snap(9, 7);
	want[9] = want[7];
	thin_device snap = pmd.open_device(9);
	for (uint64_t v : {10, 11, 5000})
		pmd.insert_block(snap, v, want[9][v] = pmd.alloc_data_block());
	pmd.commit();
	pmd.close_device(snap);
	// A one-leaf tree (its root is a leaf) and an empty one.
	pmd.create_thin(3);
	thin_device small = pmd.open_device(3);
	pmd.insert_block(small, 42, want[3][42] = pmd.alloc_data_block());
	pmd.commit();
	pmd.close_device(small);
	pmd.create_thin(4);
	want[4];
	pmd.commit();
	pmd.close();
	return want;
}

}
