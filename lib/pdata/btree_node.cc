#include "pdata/btree_node.h"

#include "pdata/block_checksum.h"

namespace thinmeta::pdata {

int64_t node_view::lower_bound(uint64_t k) const
{
	int64_t lo = -1, hi = nr_entries();
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (key(static_cast<uint32_t>(mid)) <= k)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

void node_mut::init(uint32_t flags, uint32_t value_size, block_address where)
{
	std::memset(m_, 0, block_size);
	set_flags(flags);
	set_location(where);
	set_value_size(value_size);
	set_max_entries(max_entries_for(value_size));
}

void node_mut::seal()
{
	seal_block(m_, block_kind::btree_node);
}

}
