#include "ops/salvaging_visitor.h"

#include "base/text.h"
#include "thin/block_time.h"

namespace thinmeta::ops {

bool salvaging_visitor::visit(block_address, const pdata::node_view& n, const pdata::key_range&)
{
	first_visit_ = false;
	if (!n.is_leaf())
		return true;
	uint32_t nr = n.nr_entries();
	uint32_t begin = 0;
	for (uint32_t i = 0; i < nr; ++i) {
		if (thin::block_time::unpack(n.value64(i)).block < nr_data_blocks_)
			continue;
		if (i > begin)
			on_entries_(n, begin, i);
		begin = i + 1;
		if (!lost_.empty() && lost_.back().end == n.key(i))
			lost_.back().end = n.key(i) + 1;
		else
			lost_.push_back({n.key(i), n.key(i) + 1});
		damage_.push_back(cat("block ", n.location(), ": the mapping of virtual block ", n.key(i),
		                      " points past the end of the data device"));
	}
	if (nr > begin)
		on_entries_(n, begin, nr);
	return false;
}

void salvaging_visitor::damaged(block_address where, const pdata::key_range& keys, const std::string& what)
{
	if (first_visit_)
		root_readable_ = false;
	first_visit_ = false;
	lost_.push_back(keys);
	damage_.push_back(cat("block ", where, " (virtual blocks ", keys.describe(), "): ", what));
}

}
