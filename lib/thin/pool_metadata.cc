#include "thin/pool_metadata.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/endian.h"
#include "base/text.h"
#include "thin/block_time.h"
#include "thin/superblock.h"

namespace thinmeta::thin {

using namespace pdata;

namespace {

namespace sb_off = superblock_offset;

void put_sm_root(uint8_t* field, const sm_root& root)
{
	std::memset(field, 0, sm_root_size);
	root.encode(field);
}

std::string check_live_superblock(const uint8_t* block, block_address where)
{
	std::string what = validator_for(block_kind::superblock)(block, where);
	if (what.empty() && load_le64(block + sb_off::magic) != superblock_magic)
		what = cat("superblock has magic ", load_le64(block + sb_off::magic), ", not ", superblock_magic);
	return what;
}

}

pool_metadata::pool_metadata(io::block_store& store, const pool_open_options& options)
    : store_(store), data_block_size_(options.data_block_size), cache_blocks_(options.cache_blocks)
{
	create_objects();
	open_or_format(options.format);
	begin_transaction();
	set_metadata_reserve();
}

pool_metadata::~pool_metadata() = default;

void pool_metadata::create_objects()
{
	cache_ = std::make_unique<io::block_cache>(store_, cache_blocks_);
	cache_->hold_back(superblock_location);
	tm_ = std::make_unique<transaction_manager>(*cache_);
	metadata_sm_ = std::make_unique<metadata_space_map>(*tm_);
	tm_->set_space_map(metadata_sm_.get());
	data_sm_ = std::make_unique<data_space_map>(*tm_);
	data_vt_ = std::make_unique<data_block_value_type>(*data_sm_);
	info_ = {tm_.get(), 2, data_vt_.get()};
	bl_info_ = {tm_.get(), 1, data_vt_.get()};
	subtree_vt_ = std::make_unique<subtree_value_type>(bl_info_);
	tl_info_ = {tm_.get(), 1, subtree_vt_.get()};
	details_info_ = {tm_.get(), 1, &details_vt_};
}

void pool_metadata::open_or_format(bool format_blank)
{
	bool blank;
	{
		block_handle h = cache_->read(superblock_location);
		const uint8_t* p = h.data();
		blank = std::all_of(p, p + block_size, [](uint8_t c) { return c == 0; });
	}
	if (blank) {
		if (!format_blank)
			throw pool_error(EPERM, "the metadata device is blank and may not be formatted");
		format();
	} else {
		open_existing();
	}
}

void pool_metadata::format()
{
	metadata_space_map::create(*metadata_sm_, cache_->nr_blocks(), superblock_location);
	data_sm_->create(0);
	root_ = btree_empty(info_);
	details_root_ = btree_empty(details_info_);

	data_sm_->commit();
	tm_->pre_commit();
	sm_root msr = metadata_sm_->root(), dsr = data_sm_->root();
	block_handle sb = cache_->write_zeroed(superblock_location, preparer_for(block_kind::superblock));
	uint8_t* p = sb.data_mut();
	store_le64(p + sb_off::magic, superblock_magic);
	store_le32(p + sb_off::version, superblock_version);
	put_sm_root(p + sb_off::data_sm, dsr);
	put_sm_root(p + sb_off::metadata_sm, msr);
	store_le64(p + sb_off::data_mapping_root, root_);
	store_le64(p + sb_off::device_details_root, details_root_);
	store_le32(p + sb_off::metadata_block_size, sectors_per_block);
	store_le64(p + sb_off::metadata_nr_blocks, std::min<uint64_t>(cache_->nr_blocks(), max_metadata_blocks));
	store_le32(p + sb_off::data_block_size, data_block_size_);
	tm_->commit(std::move(sb));
}

void pool_metadata::open_existing()
{
	block_handle h = cache_->read(superblock_location, check_live_superblock);
	superblock sb = superblock::decode(h.data());
	if (sb.data_block_size != data_block_size_)
		throw pool_error(EINVAL, cat("changing the data block size (from ", sb.data_block_size, " to ",
		                             data_block_size_, " sectors) is not supported"));
	if (sb.incompat_flags)
		throw pool_error(EINVAL, cat("the metadata has unsupported incompatible features (", sb.incompat_flags, ")"));
	metadata_sm_->open(sb.metadata_sm);
	data_sm_->open(sb.data_sm);
	root_ = sb.data_mapping_root;
	details_root_ = sb.device_details_root;
	held_root_ = sb.metadata_snap;
}

void pool_metadata::begin_transaction()
{
	block_handle h = cache_->read(superblock_location, check_live_superblock);
	superblock sb = superblock::decode(h.data());
	time_ = sb.time;
	root_ = sb.data_mapping_root;
	details_root_ = sb.device_details_root;
	held_root_ = sb.metadata_snap;
	trans_id_ = sb.trans_id;
	flags_ = sb.flags;
	data_block_size_ = sb.data_block_size;
}

void pool_metadata::set_metadata_reserve()
{
	metadata_reserve_ = std::min<uint64_t>(4096, metadata_sm_->nr_blocks() / 10);
}

void pool_metadata::write_changed_details()
{
	for (auto it = devices_.begin(); it != devices_.end();) {
		if (!it->changed) {
			++it;
			continue;
		}
		uint8_t v[device_details_size];
		it->details.encode(v);
		uint64_t key = it->id;
		details_root_ = btree_insert(details_info_, details_root_, {&key, 1}, v);
		if (it->open_count) {
			it->changed = false;
			++it;
		} else {
			it = devices_.erase(it);
		}
	}
}

void pool_metadata::commit_transaction()
{
	if (!in_service_)
		return;
	if (pre_commit_)
		pre_commit_();
	write_changed_details();
	data_sm_->commit();
	tm_->pre_commit();
	sm_root msr = metadata_sm_->root(), dsr = data_sm_->root();
	block_handle sb = cache_->write(superblock_location, check_live_superblock, preparer_for(block_kind::superblock));
	uint8_t* p = sb.data_mut();
	store_le32(p + sb_off::time, time_);
	store_le64(p + sb_off::data_mapping_root, root_);
	store_le64(p + sb_off::device_details_root, details_root_);
	store_le64(p + sb_off::metadata_snap, held_root_);
	store_le64(p + sb_off::trans_id, trans_id_);
	store_le32(p + sb_off::flags, flags_);
	put_sm_root(p + sb_off::metadata_sm, msr);
	put_sm_root(p + sb_off::data_sm, dsr);
	tm_->commit(std::move(sb));
}

void pool_metadata::commit()
{
	commit_transaction();
	begin_transaction();
}

void pool_metadata::close()
{
	bool open = false;
	for (auto it = devices_.begin(); it != devices_.end();) {
		if (it->open_count) {
			open = true;
			++it;
		} else {
			it = devices_.erase(it);
		}
	}
	if (open)
		throw pool_error(EBUSY, "cannot close the pool metadata while thin devices are open");
	commit_transaction();
}

void pool_metadata::abort()
{
	write_lock();
	for (auto& td : devices_)
		td.aborted_with_changes = td.changed;
	cache_.reset();
	tm_.reset();
	create_objects();
	open_or_format(false);
}

bool pool_metadata::details_exist(uint64_t dev)
{
	return btree_lookup(details_info_, details_root_, {&dev, 1}, nullptr);
}

bool pool_metadata::device_exists(uint64_t dev)
{
	return details_exist(dev);
}

thin_device pool_metadata::find_open(uint64_t dev)
{
	for (auto& td : devices_)
		if (td.id == dev)
			return &td;
	return nullptr;
}

thin_device pool_metadata::open_device_internal(uint64_t dev, bool create)
{
	if (thin_device td = find_open(dev)) {
		if (create)
			throw pool_error(EEXIST, cat("thin device ", dev, " already exists"));
		++td->open_count;
		return td;
	}
	thin_device_state state;
	state.id = dev;
	state.open_count = 1;
	uint8_t v[device_details_size];
	if (btree_lookup(details_info_, details_root_, {&dev, 1}, v)) {
		state.details = device_details::decode(v);
	} else {
		if (!create)
			throw pool_error(ENODATA, cat("thin device ", dev, " does not exist"));
		state.changed = true;
		state.details = {0, trans_id_, time_, time_};
	}
	devices_.push_front(state);
	return &devices_.front();
}

thin_device pool_metadata::open_device(uint64_t dev)
{
	return open_device_internal(dev, false);
}

void pool_metadata::close_device(thin_device td)
{
	--td->open_count;
}

bool pool_metadata::changed_this_transaction() const
{
	for (auto& td : devices_)
		if (td.changed)
			return true;
	return false;
}

void pool_metadata::create_thin(uint64_t dev)
{
	write_lock();
	if (details_exist(dev))
		throw pool_error(EEXIST, cat("thin device ", dev, " already exists"));
	block_address dev_root = btree_empty(bl_info_);
	uint8_t v[8];
	store_le64(v, dev_root);
	root_ = btree_insert(tl_info_, root_, {&dev, 1}, v);
	close_device(open_device_internal(dev, true));
}

void pool_metadata::create_snap(uint64_t dev, uint64_t origin)
{
	write_lock();
	if (details_exist(dev))
		throw pool_error(EEXIST, cat("thin device ", dev, " already exists"));
	uint8_t v[8];
	if (!btree_lookup(tl_info_, root_, {&origin, 1}, v))
		throw pool_error(ENODATA, cat("origin thin device ", origin, " does not exist"));
	block_address origin_root = load_le64(v);
	tm_->inc(origin_root);
	root_ = btree_insert(tl_info_, root_, {&dev, 1}, v);
	++time_;
	thin_device td = open_device_internal(dev, true);
	thin_device otd = open_device_internal(origin, false);
	otd->changed = true;
	otd->details.snapshotted_time = time_;
	td->details.mapped_blocks = otd->details.mapped_blocks;
	td->details.snapshotted_time = time_;
	close_device(otd);
	close_device(td);
}

void pool_metadata::delete_device(uint64_t dev)
{
	write_lock();
	thin_device td = open_device_internal(dev, false);
	if (td->open_count > 1) {
		close_device(td);
		throw pool_error(EBUSY, cat("thin device ", dev, " is in use"));
	}
	devices_.remove_if([&](const thin_device_state& s) { return &s == td; });
	details_root_ = btree_remove(details_info_, details_root_, {&dev, 1});
	root_ = btree_remove(tl_info_, root_, {&dev, 1});
}

void pool_metadata::set_transaction_id(uint64_t current_id, uint64_t new_id)
{
	write_lock();
	if (trans_id_ != current_id)
		throw pool_error(EINVAL, cat("the transaction id is ", trans_id_, ", not ", current_id));
	trans_id_ = new_id;
}

void pool_metadata::reserve_metadata_snap()
{
	write_lock();
	if (held_root_)
		throw pool_error(EBUSY, "a metadata snapshot is already held: release it before taking another");
	commit_transaction();
	metadata_sm_->inc(superblock_location);
	bool inc = false;
	block_handle copy = tm_->shadow(superblock_location, block_kind::superblock, inc);
	uint8_t* p = copy.data_mut();
	std::memset(p + sb_off::data_sm, 0, sm_root_size);
	std::memset(p + sb_off::metadata_sm, 0, sm_root_size);
	tm_->inc(load_le64(p + sb_off::data_mapping_root));
	tm_->inc(load_le64(p + sb_off::device_details_root));
	held_root_ = copy.location();
}

void pool_metadata::release_metadata_snap()
{
	write_lock();
	block_address held = held_root_;
	if (!held)
		throw pool_error(EINVAL, "no metadata snapshot is held");
	block_address mapping, details;
	{
		block_handle copy = tm_->read(held, block_kind::superblock);
		mapping = load_le64(copy.data() + sb_off::data_mapping_root);
		details = load_le64(copy.data() + sb_off::device_details_root);
	}
	held_root_ = 0;
	btree_del(info_, mapping);
	btree_del(details_info_, details);
	metadata_sm_->dec(held);
}

std::optional<mapping_lookup> pool_metadata::find_block(thin_device td, uint64_t vblock)
{
	uint64_t keys[2] = {td->id, vblock};
	uint8_t v[8];
	if (!btree_lookup(info_, root_, keys, v))
		return std::nullopt;
	block_time bt = block_time::unpack(load_le64(v));
	return mapping_lookup{bt.block, td->details.snapshotted_time > bt.time};
}

std::optional<mapped_range> pool_metadata::find_mapped_range(thin_device td, uint64_t begin, uint64_t end)
{
	if (end < begin)
		return std::nullopt;
	uint64_t keys[2] = {td->id, begin};
	uint64_t vblock;
	uint8_t v[8];
	if (!btree_lookup_next(info_, root_, keys, vblock, v) || vblock >= end)
		return std::nullopt;
	block_time bt = block_time::unpack(load_le64(v));
	mapped_range r;
	r.thin_begin = vblock;
	r.data_begin = bt.block;
	r.maybe_shared = td->details.snapshotted_time > bt.time;
	uint64_t next = vblock + 1;
	uint64_t pool_end = bt.block + 1;
	while (next != end) {
		auto m = find_block(td, next);
		if (!m || m->data_block != pool_end || m->shared != r.maybe_shared)
			break;
		++pool_end;
		++next;
	}
	r.thin_end = next;
	return r;
}

void pool_metadata::insert_block(thin_device td, uint64_t vblock, uint64_t data_block)
{
	write_lock();
	uint64_t keys[2] = {td->id, vblock};
	uint8_t v[8];
	store_le64(v, (data_block << time_bits) | time_);
	bool inserted = false;
	root_ = btree_insert(info_, root_, keys, v, &inserted);
	td->changed = true;
	if (inserted)
		++td->details.mapped_blocks;
}

void pool_metadata::remove_range(thin_device td, uint64_t begin, uint64_t end)
{
	write_lock();
	uint64_t key = td->id;
	uint8_t v[8];
	if (!btree_lookup(tl_info_, root_, {&key, 1}, v))
		throw pool_error(ENODATA, cat("thin device ", key, " has no mapping tree"));
	block_address mapping_root = load_le64(v);
	tm_->inc(mapping_root);
	root_ = btree_remove(tl_info_, root_, {&key, 1});

	uint64_t total = 0;
	while (begin < end) {
		uint64_t found;
		if (!btree_lookup_next(bl_info_, mapping_root, {&begin, 1}, found, v))
			break;
		begin = found;
		if (begin >= end)
			break;
		uint64_t count = 0;
		mapping_root = btree_remove_leaves(bl_info_, mapping_root, {&begin, 1}, end, count);
		total += count;
	}
	td->details.mapped_blocks -= total;
	td->changed = true;

	store_le64(v, mapping_root);
	root_ = btree_insert(tl_info_, root_, {&key, 1}, v);
}

std::optional<uint64_t> pool_metadata::highest_mapped_block(thin_device td)
{
	uint64_t key = td->id;
	uint8_t v[8];
	if (!btree_lookup(tl_info_, root_, {&key, 1}, v))
		return std::nullopt;
	uint64_t highest;
	if (!btree_find_highest_key(bl_info_, load_le64(v), {&highest, 1}))
		return std::nullopt;
	return highest;
}

uint64_t pool_metadata::alloc_data_block()
{
	write_lock();
	try {
		return data_sm_->new_block();
	} catch (const no_space_error& e) {
		throw pool_error(ENOSPC, e.what());
	}
}

bool pool_metadata::data_block_is_shared(uint64_t b)
{
	return data_sm_->get_count(b) > 1;
}

void pool_metadata::inc_data_range(uint64_t b, uint64_t e)
{
	write_lock();
	data_sm_->inc_range(b, e);
}

void pool_metadata::dec_data_range(uint64_t b, uint64_t e)
{
	write_lock();
	data_sm_->dec_range(b, e);
}

void pool_metadata::release_leaked_blocks(std::span<const block_address> metadata_blocks,
                                          std::span<const uint64_t> data_blocks)
{
	write_lock();
	for (block_address b : metadata_blocks)
		metadata_sm_->set_count(b, 0);
	for (uint64_t b : data_blocks)
		data_sm_->set_count(b, 0);
}

void pool_metadata::set_needs_check()
{
	write_lock();
	flags_ |= needs_check_flag;
	block_handle sb = cache_->write(superblock_location, check_live_superblock, preparer_for(block_kind::superblock));
	store_le32(sb.data_mut() + sb_off::flags, flags_);
}

uint64_t pool_metadata::metadata_free_blocks() const
{
	uint64_t free = metadata_sm_->nr_free();
	return free < metadata_reserve_ ? 0 : free - metadata_reserve_;
}

void pool_metadata::resize_data_dev(uint64_t new_count)
{
	write_lock();
	uint64_t old_count = data_sm_->nr_blocks();
	if (new_count == old_count)
		return;
	if (new_count < old_count)
		throw pool_error(EINVAL, cat("cannot reduce the data space map from ", old_count, " to ", new_count, " blocks"));
	data_sm_->extend(new_count - old_count);
}

void pool_metadata::resize_metadata_dev(uint64_t new_count)
{
	write_lock();
	uint64_t old_count = metadata_sm_->nr_blocks();
	if (new_count == old_count)
		return;
	if (new_count < old_count)
		throw pool_error(EINVAL, cat("cannot reduce the metadata space map from ", old_count, " to ", new_count,
		                             " blocks"));
	metadata_sm_->extend(new_count - old_count);
	set_metadata_reserve();
}

}
