// A thin pool's metadata opened for change, as the kernel's
// dm-thin-metadata.c: formatting a blank device, thin devices and
// snapshots, mappings (lookup, insert, remove range), the pool time and
// transaction id, the metadata snapshot, commit and abort, growth of both
// devices, and the free/used block counts the pool status shows. The same
// sequence of calls allocates the same metadata blocks in the same order
// as the kernel and leaves the same bytes on the device.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <span>

#include "io/block_cache.h"
#include "io/block_store.h"
#include "pdata/btree.h"
#include "pdata/space_map_data.h"
#include "pdata/space_map_metadata.h"
#include "pdata/transaction_manager.h"
#include "thin/device_details.h"
#include "thin/mapping_value_types.h"
#include "thin/pool_error.h"

namespace thinmeta::thin {

// A thin device as the pool holds it while open (dm_thin_device).
struct thin_device_state {
	uint64_t id = 0;
	int open_count = 0;
	bool changed = false;
	bool aborted_with_changes = false;
	device_details details;
};

using thin_device = thin_device_state*;

struct mapping_lookup {
	uint64_t data_block = 0;
	// The device was snapshotted after the mapping was written.
	bool shared = false;
};

struct mapped_range {
	uint64_t thin_begin = 0, thin_end = 0;
	uint64_t data_begin = 0;
	bool maybe_shared = false;
};

struct pool_open_options {
	uint32_t data_block_size = 128;  // sectors
	// Format the device when its first block is all zeroes.
	bool format = true;
	size_t cache_blocks = 4096;
};

class pool_metadata {
public:
	// Opens (or formats) the metadata on `store`, which must outlive this.
	pool_metadata(io::block_store& store, const pool_open_options& options);
	pool_metadata(const pool_metadata&) = delete;
	pool_metadata& operator=(const pool_metadata&) = delete;
	~pool_metadata();

	// Commits (when in service) and releases everything; the pool must
	// have no open devices. The destructor does not commit.
	void close();

	// Messages. Each throws pool_error with the kernel's errno.
	void create_thin(uint64_t dev);
	void create_snap(uint64_t dev, uint64_t origin);
	void delete_device(uint64_t dev);
	void set_transaction_id(uint64_t current_id, uint64_t new_id);
	uint64_t transaction_id() const { return trans_id_; }
	void reserve_metadata_snap();
	void release_metadata_snap();
	// The held root (0 when no metadata snapshot is held).
	block_address metadata_snap() const { return held_root_; }

	// Thin devices, opened by an active thin target.
	thin_device open_device(uint64_t dev);
	void close_device(thin_device td);
	bool device_exists(uint64_t dev);

	std::optional<mapping_lookup> find_block(thin_device td, uint64_t vblock);
	std::optional<mapped_range> find_mapped_range(thin_device td, uint64_t begin, uint64_t end);
	void insert_block(thin_device td, uint64_t vblock, uint64_t data_block);
	void remove_range(thin_device td, uint64_t begin, uint64_t end);
	std::optional<uint64_t> highest_mapped_block(thin_device td);
	bool changed_this_transaction(thin_device td) const { return td->changed; }
	bool aborted_changes(thin_device td) const { return td->aborted_with_changes; }
	bool changed_this_transaction() const;

	// Data blocks.
	uint64_t alloc_data_block();
	bool data_block_is_shared(uint64_t b);
	void inc_data_range(uint64_t b, uint64_t e);
	void dec_data_range(uint64_t b, uint64_t e);

	// Runs before every commit that writes (the pool flushes the data device).
	void set_pre_commit(std::function<void()> fn) { pre_commit_ = std::move(fn); }
	void commit();
	void abort();

	void set_needs_check();
	// For thin_check --auto-repair: sets the counts of blocks a checker found
	// leaked (counted in use, referred to by nothing) back to 0. Commit to
	// make it durable.
	void release_leaked_blocks(std::span<const block_address> metadata_blocks, std::span<const uint64_t> data_blocks);
	bool needs_check() const { return flags_ & 1; }
	uint32_t time() const { return time_; }
	uint32_t data_block_size() const { return data_block_size_; }

	uint64_t data_free_blocks() const { return data_sm_->nr_free(); }
	uint64_t data_nr_blocks() const { return data_sm_->nr_blocks(); }
	// Free metadata blocks less the reserve the kernel keeps back.
	uint64_t metadata_free_blocks() const;
	uint64_t metadata_nr_blocks() const { return metadata_sm_->nr_blocks(); }
	uint64_t metadata_reserve() const { return metadata_reserve_; }
	void resize_data_dev(uint64_t new_count);
	// The store must already have grown to new_count blocks.
	void resize_metadata_dev(uint64_t new_count);

	// For tests and tools: the current roots.
	block_address mapping_root() const { return root_; }
	block_address details_root() const { return details_root_; }
	pdata::transaction_manager& tm() { return *tm_; }
	pdata::data_space_map& data_sm() { return *data_sm_; }
	pdata::metadata_space_map& metadata_sm() { return *metadata_sm_; }

private:
	void create_objects();
	void format();
	void open_existing();
	void open_or_format(bool format);
	void begin_transaction();
	void commit_transaction();
	void write_changed_details();
	void set_metadata_reserve();
	void write_lock() { in_service_ = true; }
	thin_device find_open(uint64_t dev);
	thin_device open_device_internal(uint64_t dev, bool create);
	bool details_exist(uint64_t dev);

	io::block_store& store_;
	uint32_t data_block_size_;
	size_t cache_blocks_;
	std::unique_ptr<io::block_cache> cache_;
	std::unique_ptr<pdata::transaction_manager> tm_;
	std::unique_ptr<pdata::metadata_space_map> metadata_sm_;
	std::unique_ptr<pdata::data_space_map> data_sm_;
	std::unique_ptr<data_block_value_type> data_vt_;
	std::unique_ptr<subtree_value_type> subtree_vt_;
	pdata::btree_value_type details_vt_{device_details_size};
	pdata::btree_info info_, tl_info_, bl_info_, details_info_;

	uint32_t time_ = 0;
	block_address root_ = 0;
	block_address details_root_ = 0;
	block_address held_root_ = 0;
	uint64_t trans_id_ = 0;
	uint32_t flags_ = 0;
	uint64_t metadata_reserve_ = 0;
	bool in_service_ = false;
	std::list<thin_device_state> devices_;  // most recently opened first
	std::function<void()> pre_commit_;
};

}
