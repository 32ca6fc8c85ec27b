// Commit is crash-safe: with the store dropping every write after the N-th
// of a commit, for every N, the device holds exactly the previous commit or
// the new one (every block reachable from the superblock, byte for byte),
// and the pool opens from it.
#include <catch2/catch.hpp>

#include "pool_workload.h"

using namespace thinmeta;

namespace {

struct commit_record {
	test::reachable_blocks::image before, after;
	uint64_t writes = 0;
};

}

TEST_CASE("a crash after any write of a commit leaves the old or the new commit", "[pool_metadata][crash]")
{
	const uint64_t nr_blocks = 4096;
	std::vector<commit_record> commits(1);
	{
		io::memory_block_store store(nr_blocks);
		uint64_t writes_before = 0;
		test::run_pool_workload(store, [&](unsigned nr, bool before, thin::pool_metadata&) {
			if (before) {
				commits.resize(nr + 1);
				commits[nr].before = test::reachable_blocks(store).collect();
				writes_before = store.nr_block_writes();
			} else {
				commits[nr].after = test::reachable_blocks(store).collect();
				commits[nr].writes = store.nr_block_writes() - writes_before;
			}
			return true;
		});
	}
	REQUIRE(commits.size() > 12);

	unsigned crashes = 0;
	for (unsigned nr = 1; nr < commits.size(); ++nr) {
		const commit_record& c = commits[nr];
		REQUIRE(c.writes > 0);
		REQUIRE(c.before != c.after);
		for (uint64_t n = 0; n <= c.writes; ++n) {
			INFO("commit " << nr << ", crash after " << n << " of " << c.writes << " writes");
			io::memory_block_store store(nr_blocks);
			test::run_pool_workload(store, [&](unsigned k, bool before, thin::pool_metadata&) {
				if (k == nr && before)
					store.persist_only(n);
				return k != nr;
			});
			auto found = test::reachable_blocks(store).collect();
			bool old_state = found == c.before, new_state = found == c.after;
			REQUIRE((old_state || new_state));
			// Only the last write (the superblock) switches to the new commit.
			CHECK(new_state == (n == c.writes));
			store.persist_all();
			thin::pool_metadata reopened(store, {128, false, 1024});
			CHECK(reopened.metadata_nr_blocks() == nr_blocks);
			++crashes;
		}
	}
	CHECK(crashes > 250);
}
