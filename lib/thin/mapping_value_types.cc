#include "thin/mapping_value_types.h"

#include <cstring>

#include "base/endian.h"
#include "pdata/value_runs.h"
#include "thin/block_time.h"

namespace thinmeta::thin {

void data_block_value_type::inc(const uint8_t* values, uint32_t count)
{
	pdata::for_each_run(values, count, time_bits, [&](uint64_t b, uint64_t e) { sm_.inc_range(b, e); });
}

void data_block_value_type::dec(const uint8_t* values, uint32_t count)
{
	pdata::for_each_run(values, count, time_bits, [&](uint64_t b, uint64_t e) { sm_.dec_range(b, e); });
}

bool data_block_value_type::equal(const uint8_t* a, const uint8_t* b) const
{
	return (load_le64(a) >> time_bits) == (load_le64(b) >> time_bits);
}

void subtree_value_type::inc(const uint8_t* values, uint32_t count)
{
	for (uint32_t i = 0; i < count; ++i)
		subtree_.tm->inc(load_le64(values + 8 * size_t(i)));
}

void subtree_value_type::dec(const uint8_t* values, uint32_t count)
{
	for (uint32_t i = 0; i < count; ++i)
		pdata::btree_del(subtree_, load_le64(values + 8 * size_t(i)));
}

bool subtree_value_type::equal(const uint8_t* a, const uint8_t* b) const
{
	return std::memcmp(a, b, 8) == 0;
}

}
