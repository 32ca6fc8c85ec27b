#include "sim/thin_pool.h"

#include <algorithm>
#include <cerrno>

#include "base/text.h"
#include "pdata/btree.h"
#include "pdata/space_map_disk.h"
#include "thin/device_details.h"
#include "thin/pool_error.h"

namespace thinmeta::sim {

using thin::pool_error;

thin_pool::thin_pool(const pool_config& config, metadata_store& metadata, data_device& data)
    : config_(config), metadata_(metadata), data_(data)
{
	check_pool_config(config_);
	if (!config_.features.discard_enabled)
		config_.features.discard_passdown = false;
	open_pool();
}

thin_pool::~thin_pool() = default;

// pool_ctr and pool_create, then the first resume.
void thin_pool::open_pool()
{
	thin::pool_open_options options;
	options.data_block_size = config_.block_size;
	options.format = !config_.features.read_only;
	pmd_ = std::make_unique<thin::pool_metadata>(metadata_, options);
	mode_ = pool_mode::write;
	out_of_data_space_ = false;
	error_if_no_space_ = config_.features.error_if_no_space;
	preresume();
}

uint64_t thin_pool::data_blocks_on_device() const
{
	return data_.size_bytes() / (uint64_t(config_.block_size) * 512);
}

uint64_t thin_pool::metadata_blocks_on_device() const
{
	return std::min<uint64_t>(metadata_.nr_blocks(), pdata::max_metadata_blocks);
}

// calc_metadata_threshold: a dm event when free metadata falls this low.
uint64_t thin_pool::metadata_low_water() const
{
	return std::min<uint64_t>(1024, metadata_blocks_on_device() / 4);
}

// pool_preresume: takes control of the pool with the table's mode, then
// grows the space maps to the devices (committing if either grew).
void thin_pool::preresume()
{
	set_mode(config_.features.read_only ? pool_mode::read_only : pool_mode::write);

	bool need_commit = false;
	auto grow = [&](const char* what, uint64_t device_blocks, uint64_t map_blocks, auto&& resize) {
		if (device_blocks < map_blocks)
			throw pool_error(EINVAL, cat(what, " device (", device_blocks, " blocks) too small: expected ",
			                             map_blocks));
		if (device_blocks == map_blocks || pmd_->needs_check())
			return;  // with needs_check set, growth waits for a repair
		if (changes_no_metadata(mode_)) {
			// The metadata is read-only: the resize, then the needs_check
			// flag after the abort, cannot be written.
			set_mode(pool_mode::fail);
			return;
		}
		if (!metadata_op(resize))
			throw pool_error(EIO, cat("growing the ", what, " space map from ", map_blocks, " to ", device_blocks,
			                          " blocks failed: ", metadata_failure_));
		need_commit = true;
	};
	grow("data", data_blocks_on_device(), pmd_->data_nr_blocks(),
	     [&] { pmd_->resize_data_dev(data_blocks_on_device()); });
	if (mode_ == pool_mode::out_of_metadata_space && metadata_blocks_on_device() > pmd_->metadata_nr_blocks())
		set_mode(pool_mode::write);
	grow("metadata", metadata_blocks_on_device(), pmd_->metadata_nr_blocks(),
	     [&] { pmd_->resize_metadata_dev(metadata_blocks_on_device()); });
	if (need_commit)
		commit();
	low_water_triggered_ = false;
}

thin_pool::active_thin& thin_pool::active_device(uint64_t dev)
{
	for (auto& t : active_)
		if (t.id == dev)
			return t;
	throw pool_error(ENODEV, cat("thin device ", dev, " is not active"));
}

bool thin_pool::is_active(uint64_t dev) const
{
	return std::any_of(active_.begin(), active_.end(), [&](const active_thin& t) { return t.id == dev; });
}

std::vector<uint64_t> thin_pool::active_devices() const
{
	std::vector<uint64_t> ids;
	for (auto& t : active_)
		ids.push_back(t.id);
	return ids;
}

// thin_ctr
void thin_pool::activate(uint64_t dev, const external_origin* origin)
{
	if (is_active(dev))
		throw pool_error(EBUSY, cat("thin device ", dev, " is already active"));
	if (mode_ == pool_mode::fail)
		throw pool_error(EINVAL, cat("cannot activate thin device ", dev, ": the pool is in fail mode"));
	thin::thin_device td = pmd_->open_device(dev);
	active_.push_back({dev, td, origin});
}

// thin_dtr
void thin_pool::deactivate(uint64_t dev)
{
	active_thin& t = active_device(dev);
	pmd_->close_device(t.td);
	active_.erase(active_.begin() + (&t - active_.data()));
}

std::vector<uint64_t> thin_pool::devices_in_metadata()
{
	std::vector<uint64_t> ids;
	pdata::btree_value_type details(thin::device_details_size);
	pdata::btree_info info{&pmd_->tm(), 1, &details};
	pdata::btree_walk(info, pmd_->details_root(), [&](uint64_t key, const uint8_t*) { ids.push_back(key); });
	return ids;
}

// A REQ_PREFLUSH bio to the thin device: it commits when the device
// changed in this transaction (bio_triggers_commit, process_deferred_bios).
void thin_pool::flush(uint64_t dev)
{
	active_thin& t = active_device(dev);
	++stats_.flushes;
	if (mode_ == pool_mode::fail)
		throw pool_error(EIO, cat("flush of thin device ", dev, ": the pool has failed"));
	if (!pmd_->changed_this_transaction(t.td))
		return;
	if (pmd_->aborted_changes(t.td))
		throw pool_error(EIO, cat("flush of thin device ", dev, ": its changes were lost in an abort"));
	if (!commit())
		throw pool_error(EIO, cat("flush of thin device ", dev, ": the commit failed"));
}

pool_status thin_pool::status()
{
	pool_status s;
	s.mode = mode_;
	if (mode_ == pool_mode::fail)
		return s;
	commit();
	fill_status(s);
	return s;
}

pool_status thin_pool::usage()
{
	if (!pmd_)
		return final_usage_;
	pool_status s;
	fill_status(s);
	return s;
}

void thin_pool::fill_status(pool_status& s)
{
	s.mode = mode_;
	s.transaction_id = pmd_->transaction_id();
	s.metadata_total = pmd_->metadata_nr_blocks();
	s.metadata_used = s.metadata_total - pmd_->metadata_free_blocks();
	s.data_total = pmd_->data_nr_blocks();
	s.data_used = s.data_total - pmd_->data_free_blocks();
	s.held_root = pmd_->metadata_snap();
	s.discard_enabled = config_.features.discard_enabled;
	s.discard_passdown = config_.features.discard_passdown;
	s.error_if_no_space = error_if_no_space_;
	s.needs_check = pmd_->needs_check();
	s.metadata_low_water = metadata_low_water();
}

// A reload of the same table: postsuspend commits, preresume grows.
void thin_pool::resize()
{
	commit();
	metadata_.reopen();
	preresume();
}

void thin_pool::crash()
{
	std::vector<active_thin> were_active = active_;
	active_.clear();
	pmd_.reset();
	open_pool();
	std::vector<uint64_t> present = devices_in_metadata();
	for (auto& t : were_active)
		if (std::binary_search(present.begin(), present.end(), t.id))
			activate(t.id, t.origin);
}

void thin_pool::close()
{
	while (!active_.empty())
		deactivate(active_.front().id);
	commit();  // pool_postsuspend
	if (!changes_no_metadata(mode_)) {
		metadata_op([&] { pmd_->close(); });
	} else if (mode_ != pool_mode::fail) {
		// The metadata is read-only now; only the needs_check flag reaches
		// the disk, when the block manager writes its dirty blocks.
		pmd_->tm().cache().flush();
	}
	fill_status(final_usage_);
	pmd_.reset();
	if (metadata_.writable())
		metadata_.sync();
}

}
