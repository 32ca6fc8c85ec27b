#include "pdata/ref_count_batch.h"

namespace thinmeta::pdata {

static_assert(ref_counter::chunk_bits <= 16, "a chunk offset fits 16 bits");

ref_count_batch::ref_count_batch(ref_counter& counts)
    : counts_(counts), pending_((counts.size() + ref_counter::chunk_size - 1) >> ref_counter::chunk_bits)
{
}

void ref_count_batch::apply(uint64_t chunk)
{
	pending& p = pending_[chunk];
	counts_.inc_chunk(chunk, {p.offsets.get(), p.fill});
	p.fill = 0;
}

void ref_count_batch::apply_all()
{
	for (uint64_t chunk = 0; chunk < pending_.size(); ++chunk)
		if (pending_[chunk].fill)
			apply(chunk);
}

}
