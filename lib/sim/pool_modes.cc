// thin_pool: pool modes, commits and data block allocation (dm-thin.c's
// set_pool_mode, commit, metadata_operation_failed, alloc_data_block).
#include <cerrno>

#include "sim/thin_pool.h"

namespace thinmeta::sim {

void thin_pool::set_mode(pool_mode new_mode)
{
	pool_mode old_mode = mode_;
	// A pool that needs checking never writes until it is repaired.
	if (new_mode == pool_mode::write && pmd_->needs_check())
		new_mode = old_mode != new_mode ? old_mode : pool_mode::read_only;
	// A failed pool stays failed.
	if (old_mode == pool_mode::fail)
		new_mode = old_mode;

	if (new_mode == pool_mode::out_of_data_space) {
		out_of_data_space_ = true;
	} else if (new_mode == pool_mode::write) {
		out_of_data_space_ = false;
		error_if_no_space_ = config_.features.error_if_no_space;
	}
	mode_ = new_mode;
	if (old_mode != new_mode)
		++stats_.mode_changes;
}

// commit(): nothing in the read-only modes; a failed commit aborts.
bool thin_pool::commit()
{
	if (changes_no_metadata(mode_))
		return false;
	if (!metadata_op([&] { pmd_->commit(); }))
		return false;
	++stats_.commits;
	check_for_metadata_space();
	check_for_data_space();
	return true;
}

// abort_transaction, then read-only (fail if even that cannot be done).
void thin_pool::metadata_operation_failed()
{
	try {
		pmd_->abort();
		pmd_->set_needs_check();
	} catch (const error&) {
		set_mode(pool_mode::fail);
	}
	set_mode(pool_mode::read_only);
}

void thin_pool::check_for_metadata_space()
{
	if (pmd_->metadata_free_blocks() == 0 && mode_ != pool_mode::out_of_metadata_space &&
	    mode_ != pool_mode::read_only)
		set_mode(pool_mode::out_of_metadata_space);
}

void thin_pool::check_for_data_space()
{
	if (mode_ == pool_mode::out_of_data_space && pmd_->data_free_blocks())
		set_mode(pool_mode::write);
}

// 0, ENOSPC (the pool is now out of data space) or another errno.
int thin_pool::alloc_data_block(uint64_t& block)
{
	if (mode_ != pool_mode::write)
		return EINVAL;
	uint64_t free = pmd_->data_free_blocks();
	if (free <= config_.low_water_mark && !low_water_triggered_) {
		low_water_triggered_ = true;
		++stats_.low_water_events;
	}
	if (!free) {
		// A commit may free blocks released in this transaction.
		if (!commit())
			return EINVAL;
		if (!pmd_->data_free_blocks()) {
			set_mode(pool_mode::out_of_data_space);
			return ENOSPC;
		}
	}
	try {
		block = pmd_->alloc_data_block();
	} catch (const thin::pool_error& e) {
		if (e.errno_value() == ENOSPC) {
			set_mode(pool_mode::out_of_data_space);
			return ENOSPC;
		}
		metadata_operation_failed();
		return e.errno_value();
	}
	// Commit before the metadata reserve is used up.
	if (pmd_->metadata_free_blocks() == 0 && !commit())
		return EINVAL;
	return 0;
}

// get_pool_io_error_code
int thin_pool::io_error_code() const
{
	return out_of_data_space_ ? ENOSPC : EIO;
}

// should_error_unserviceable_bio: 0 means the bio waits for more space.
int thin_pool::unserviceable_error() const
{
	switch (mode_) {
	case pool_mode::out_of_data_space:
		return error_if_no_space_ ? ENOSPC : 0;
	default:
		return EIO;
	}
}

}
