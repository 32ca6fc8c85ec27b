#include "pdata/space_map_core.h"

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "base/text.h"
#include "pdata/btree.h"
#include "pdata/btree_node.h"

namespace thinmeta::pdata {

namespace {

btree_value_type& index_entry_type()
{
	static btree_value_type vt(index_entry_size);
	return vt;
}

btree_value_type& ref_count_type()
{
	static btree_value_type vt(ref_count_value_size);
	return vt;
}

uint32_t hash_index(uint64_t i)
{
	return (static_cast<uint32_t>(i) * 4294967291u) & 63u;
}

const uint8_t* bitmap_words(const uint8_t* block)
{
	return block + bitmap_header_size;
}

// The first free entry in [begin, end) of a bitmap block.
std::optional<uint32_t> find_free_in_bitmap(const uint8_t* block, uint32_t begin, uint32_t end)
{
	const uint8_t* words = bitmap_words(block);
	while (begin < end) {
		if (!(begin & 31)) {
			uint64_t w = load_le64(words + 8 * size_t(begin / 32));
			if (((w | (w >> 1)) & 0x5555555555555555ull) == 0x5555555555555555ull) {
				begin += 32;
				continue;
			}
		}
		if (!bitmap_entry(block, begin))
			return begin;
		++begin;
	}
	return std::nullopt;
}

}

struct space_map_core::update {
	index_entry ie;
	block_handle bitmap;
	block_handle overflow_leaf;

	void reset()
	{
		bitmap.release();
		overflow_leaf.release();
	}
};

space_map_core::space_map_core(transaction_manager& tm, sm_index_kind kind) : tm_(&tm), kind_(kind) {}

void space_map_core::create()
{
	nr_blocks_ = 0;
	nr_allocated_ = 0;
	if (kind_ == sm_index_kind::metadata_block) {
		block_handle h = tm_->new_block(block_kind::index);
		bitmap_root_ = h.location();
	} else {
		for (auto& c : ie_cache_)
			c = cached_entry{};
		bitmap_root_ = btree_empty({tm_, 1, &index_entry_type()});
	}
	ref_count_root_ = btree_empty({tm_, 1, &ref_count_type()});
}

void space_map_core::open(const sm_root& root)
{
	nr_blocks_ = root.nr_blocks;
	nr_allocated_ = root.nr_allocated;
	bitmap_root_ = root.bitmap_root;
	ref_count_root_ = root.ref_count_root;
	if (kind_ == sm_index_kind::metadata_block) {
		block_handle h = tm_->read(bitmap_root_, block_kind::index);
		std::memcpy(metadata_index_.data(), h.data(), block_size);
	}
}

index_entry space_map_core::load_ie(uint64_t i)
{
	if (kind_ == sm_index_kind::metadata_block) {
		if (i >= max_metadata_bitmaps)
			throw error(cat("metadata space map: no index entry ", i));
		return index_entry::decode(metadata_index_.data() + metadata_index_entry_offset(static_cast<uint32_t>(i)));
	}
	cached_entry& c = ie_cache_[hash_index(i)];
	if (c.valid) {
		if (c.index == i)
			return c.ie;
		if (c.dirty)
			write_back(c);
	}
	uint8_t v[index_entry_size];
	uint64_t key = i;
	if (!btree_lookup({tm_, 1, &index_entry_type()}, bitmap_root_, {&key, 1}, v))
		throw error(cat("data space map: the index has no entry for bitmap ", i));
	c.valid = true;
	c.dirty = false;
	c.index = i;
	c.ie = index_entry::decode(v);
	return c.ie;
}

void space_map_core::save_ie(uint64_t i, const index_entry& ie)
{
	index_changed_ = true;
	if (kind_ == sm_index_kind::metadata_block) {
		if (i >= max_metadata_bitmaps)
			throw error(cat("metadata space map: no index entry ", i));
		ie.encode(metadata_index_.data() + metadata_index_entry_offset(static_cast<uint32_t>(i)));
		return;
	}
	cached_entry& c = ie_cache_[hash_index(i)];
	if (c.valid) {
		if (c.index == i) {
			c.ie = ie;
			c.dirty = true;
			return;
		}
		if (c.dirty)
			write_back(c);
	}
	c.valid = true;
	c.dirty = true;
	c.index = i;
	c.ie = ie;
}

void space_map_core::write_back(cached_entry& c)
{
	c.dirty = false;
	uint8_t v[index_entry_size];
	c.ie.encode(v);
	uint64_t key = c.index;
	bitmap_root_ = btree_insert({tm_, 1, &index_entry_type()}, bitmap_root_, {&key, 1}, v);
}

void space_map_core::commit()
{
	if (!index_changed_)
		return;
	if (kind_ == sm_index_kind::metadata_block) {
		bool inc = false;
		block_handle h = tm_->shadow(bitmap_root_, block_kind::index, inc);
		std::memcpy(h.data_mut(), metadata_index_.data(), block_size);
		bitmap_root_ = h.location();
	} else {
		for (auto& c : ie_cache_)
			if (c.valid && c.dirty)
				write_back(c);
	}
	index_changed_ = false;
}

void space_map_core::extend(uint64_t extra_blocks)
{
	uint64_t nr_blocks = nr_blocks_ + extra_blocks;
	uint64_t old_bitmaps = nr_bitmaps_for(nr_blocks_);
	uint64_t bitmaps = nr_bitmaps_for(nr_blocks);
	if (kind_ == sm_index_kind::metadata_block && bitmaps > max_metadata_bitmaps)
		throw error(cat("metadata space map: ", nr_blocks, " blocks is too large (at most ", max_metadata_blocks,
		                ")"));
	nr_blocks_ = nr_blocks;
	for (uint64_t i = old_bitmaps; i < bitmaps; ++i) {
		block_address where;
		{
			block_handle h = tm_->new_block(block_kind::bitmap);
			where = h.location();
		}
		save_ie(i, {where, entries_per_bitmap, 0});
	}
}

uint32_t space_map_core::lookup_bitmap(block_address b)
{
	if (b >= nr_blocks_)
		throw error(cat("space map: block ", b, " is out of bounds (", nr_blocks_, " blocks)"));
	index_entry ie = load_ie(b / entries_per_bitmap);
	block_handle h = tm_->read(ie.blocknr, block_kind::bitmap);
	return bitmap_entry(h.data(), static_cast<uint32_t>(b % entries_per_bitmap));
}

uint32_t space_map_core::lookup_overflow(block_address b)
{
	uint8_t v[ref_count_value_size];
	if (!btree_lookup({tm_, 1, &ref_count_type()}, ref_count_root_, {&b, 1}, v))
		throw error(cat("space map: block ", b, " is missing from the reference count tree"));
	return load_le32(v);
}

uint32_t space_map_core::lookup(block_address b)
{
	uint32_t v = lookup_bitmap(b);
	return v == overflow_marker ? lookup_overflow(b) : v;
}

std::optional<block_address> space_map_core::find_free_block(block_address begin, block_address end)
{
	uint64_t index_begin = begin / entries_per_bitmap;
	uint64_t index_end = (end + entries_per_bitmap - 1) / entries_per_bitmap;
	uint32_t bit_begin = static_cast<uint32_t>(begin % entries_per_bitmap);
	uint32_t last_end = static_cast<uint32_t>(end % entries_per_bitmap);
	if (!last_end)
		last_end = entries_per_bitmap;
	for (uint64_t i = index_begin; i < index_end; ++i, bit_begin = 0) {
		index_entry ie = load_ie(i);
		if (!ie.nr_free)
			continue;
		block_handle h = tm_->read(ie.blocknr, block_kind::bitmap);
		uint32_t bit_end = i == index_end - 1 ? last_end : entries_per_bitmap;
		auto pos = find_free_in_bitmap(h.data(), std::max(bit_begin, ie.none_free_before), bit_end);
		if (pos)
			return i * entries_per_bitmap + *pos;
	}
	return std::nullopt;
}

std::optional<block_address> space_map_core::find_common_free_block(space_map_core& old_map,
                                                                    space_map_core& new_map, block_address begin)
{
	for (;;) {
		auto b = new_map.find_free_block(begin, new_map.nr_blocks_);
		if (!b)
			return std::nullopt;
		if (*b >= old_map.nr_blocks_ || !old_map.lookup(*b))
			return b;
		begin = *b + 1;
	}
}

int64_t space_map_core::set_count(block_address b, uint32_t count)
{
	btree_info rc_info{tm_, 1, &ref_count_type()};
	uint64_t i = b / entries_per_bitmap;
	uint32_t bit = static_cast<uint32_t>(b % entries_per_bitmap);
	index_entry ie = load_ie(i);
	bool inc = false;
	uint32_t old;
	{
		block_handle h = tm_->shadow(ie.blocknr, block_kind::bitmap, inc);
		ie.blocknr = h.location();
		old = bitmap_entry(h.data(), bit);
		if (old > 2)
			old = lookup_overflow(b);
		set_bitmap_entry(h.data_mut(), bit, count <= 2 ? count : overflow_marker);
	}
	if (count <= 2) {
		if (old > 2)
			ref_count_root_ = btree_remove(rc_info, ref_count_root_, {&b, 1});
	} else {
		uint8_t v[4];
		store_le32(v, count);
		ref_count_root_ = btree_insert(rc_info, ref_count_root_, {&b, 1}, v);
	}
	int64_t allocations = 0;
	if (count && !old) {
		allocations = 1;
		++nr_allocated_;
		--ie.nr_free;
		if (ie.none_free_before == bit)
			ie.none_free_before = bit + 1;
	} else if (old && !count) {
		allocations = -1;
		--nr_allocated_;
		++ie.nr_free;
		ie.none_free_before = std::min(ie.none_free_before, bit);
	}
	save_ie(i, ie);
	return allocations;
}

// Starts changing the counts of bitmap i: its index entry, and the bitmap
// shadowed for writing.
void space_map_core::begin_update(uint64_t i, update& u)
{
	u.ie = load_ie(i);
	bool inc = false;
	u.bitmap = tm_->shadow(u.ie.blocknr, block_kind::bitmap, inc);
	u.ie.blocknr = u.bitmap.location();
}

// The bitmap, locked again if an overflow tree change released it.
uint8_t* space_map_core::writable_bitmap(update& u)
{
	if (!u.bitmap)
		u.bitmap = tm_->write(u.ie.blocknr, block_kind::bitmap);
	return u.bitmap.data_mut();
}

void space_map_core::inc_overflow(block_address b, update& u)
{
	if (u.overflow_leaf) {
		node_mut n(u.overflow_leaf.data_mut());
		int64_t i = n.lower_bound(b);
		if (i >= 0 && i < n.nr_entries() && n.key(static_cast<uint32_t>(i)) == b) {
			uint8_t* v = n.value(static_cast<uint32_t>(i));
			store_le32(v, load_le32(v) + 1);
			return;
		}
	}
	u.reset();
	uint32_t index;
	u.overflow_leaf = btree_overwrite_leaf({tm_, 1, &ref_count_type()}, ref_count_root_, b, index);
	node_mut n(u.overflow_leaf.data_mut());
	uint8_t* v = n.value(index);
	store_le32(v, load_le32(v) + 1);
}

int64_t space_map_core::inc_in_bitmap(block_address b, block_address e, block_address& next)
{
	update u;
	uint64_t i = b / entries_per_bitmap;
	uint32_t bit = static_cast<uint32_t>(b % entries_per_bitmap);
	uint32_t bit_end = static_cast<uint32_t>(std::min<uint64_t>(bit + (e - b), entries_per_bitmap));
	begin_update(i, u);
	int64_t allocations = 0;
	for (; bit != bit_end; ++bit, ++b) {
		uint8_t* bm = writable_bitmap(u);
		switch (bitmap_entry(bm, bit)) {
		case 0:
			set_bitmap_entry(bm, bit, 1);
			++allocations;
			++nr_allocated_;
			--u.ie.nr_free;
			if (u.ie.none_free_before == bit)
				u.ie.none_free_before = bit + 1;
			break;
		case 1:
			set_bitmap_entry(bm, bit, 2);
			break;
		case 2: {
			set_bitmap_entry(bm, bit, overflow_marker);
			u.reset();
			uint8_t v[4];
			store_le32(v, 3);
			ref_count_root_ = btree_insert({tm_, 1, &ref_count_type()}, ref_count_root_, {&b, 1}, v);
			break;
		}
		default:
			inc_overflow(b, u);
		}
	}
	next = b;
	u.reset();
	save_ie(i, u.ie);
	return allocations;
}

int64_t space_map_core::inc(block_address b, block_address e)
{
	int64_t allocations = 0;
	while (b != e)
		allocations += inc_in_bitmap(b, e, b);
	return allocations;
}

uint32_t space_map_core::dec_overflow(block_address b, update& u)
{
	btree_info rc_info{tm_, 1, &ref_count_type()};
	if (u.overflow_leaf) {
		node_mut n(u.overflow_leaf.data_mut());
		int64_t i = n.lower_bound(b);
		if (i >= 0 && i < n.nr_entries() && n.key(static_cast<uint32_t>(i)) == b) {
			uint8_t* v = n.value(static_cast<uint32_t>(i));
			uint32_t rc = load_le32(v);
			if (rc > 3) {
				store_le32(v, rc - 1);
			} else {
				u.reset();
				ref_count_root_ = btree_remove(rc_info, ref_count_root_, {&b, 1});
			}
			return rc;
		}
	}
	u.reset();
	uint32_t index;
	u.overflow_leaf = btree_overwrite_leaf(rc_info, ref_count_root_, b, index);
	uint8_t* v = node_mut(u.overflow_leaf.data_mut()).value(index);
	uint32_t rc = load_le32(v);
	if (rc == 3) {
		u.reset();
		ref_count_root_ = btree_remove(rc_info, ref_count_root_, {&b, 1});
	} else {
		store_le32(v, rc - 1);
	}
	return rc;
}

int64_t space_map_core::dec_in_bitmap(block_address b, block_address e, block_address& next)
{
	update u;
	uint64_t i = b / entries_per_bitmap;
	uint32_t bit = static_cast<uint32_t>(b % entries_per_bitmap);
	uint32_t bit_end = static_cast<uint32_t>(std::min<uint64_t>(bit + (e - b), entries_per_bitmap));
	begin_update(i, u);
	int64_t allocations = 0;
	for (; bit != bit_end; ++bit, ++b) {
		uint8_t* bm = writable_bitmap(u);
		switch (bitmap_entry(bm, bit)) {
		case 0:
			throw error(cat("space map: cannot decrement block ", b, ": it is free"));
		case 1:
			set_bitmap_entry(bm, bit, 0);
			--allocations;
			--nr_allocated_;
			++u.ie.nr_free;
			u.ie.none_free_before = std::min(u.ie.none_free_before, bit);
			break;
		case 2:
			set_bitmap_entry(bm, bit, 1);
			break;
		default:
			if (dec_overflow(b, u) == 3)
				set_bitmap_entry(writable_bitmap(u), bit, 2);
		}
	}
	next = b;
	u.reset();
	save_ie(i, u.ie);
	return allocations;
}

int64_t space_map_core::dec(block_address b, block_address e)
{
	int64_t allocations = 0;
	while (b != e)
		allocations += dec_in_bitmap(b, e, b);
	return allocations;
}

}
