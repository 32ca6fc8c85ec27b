#include "pdata/ref_count_batch.h"

namespace thinmeta::pdata {

static_assert(ref_counter::chunk_bits <= 16, "a chunk offset fits 16 bits");

ref_count_batch::ref_count_batch(ref_counter& counts)
    : counts_(counts), fill_((counts.size() + ref_counter::chunk_size - 1) >> ref_counter::chunk_bits),
      offsets_(std::make_unique_for_overwrite<uint16_t[]>(fill_.size() * chunk_capacity))
{
}

void ref_count_batch::apply(uint64_t chunk)
{
	counts_.inc_chunk(chunk, {offsets_.get() + chunk * chunk_capacity, fill_[chunk]});
	fill_[chunk] = 0;
}

void ref_count_batch::apply_all()
{
	for (uint64_t chunk = 0; chunk < fill_.size(); ++chunk)
		if (fill_[chunk])
			apply(chunk);
}

}
