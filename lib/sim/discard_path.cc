// thin_pool: discards (dm-thin.c's process_discard_bio; with passdown
// break_up_discard_bio and process_prepared_discard_passdown_pt1/pt2, else
// process_prepared_discard_no_passdown).
#include <cerrno>

#include "base/text.h"
#include "sim/discard_split.h"
#include "sim/thin_pool.h"

namespace thinmeta::sim {

using thin::pool_error;

void thin_pool::discard(uint64_t dev, uint64_t offset, uint64_t length)
{
	active_thin& t = active_device(dev);
	++stats_.discards;
	if (!config_.features.discard_enabled)
		throw pool_error(EOPNOTSUPP, cat("thin device ", dev, " does not take discards (ignore_discard)"));
	uint64_t device_bytes = config_.thin_sectors * 512;
	if (offset > device_bytes || length > device_bytes - offset)
		throw pool_error(EINVAL, cat("discard runs past the end of thin device ", dev));
	if (!length)
		return;
	if (mode_ == pool_mode::fail)
		throw pool_error(EIO, cat("discard on thin device ", dev, ": the pool has failed"));

	bool failed = false;
	for_each_discard_piece(offset / 512, length / 512, config_.block_size, [&](uint64_t begin, uint64_t end) {
		try {
			discard_piece(t, begin, end);
		} catch (const pool_error&) {
			failed = true;
		}
	});
	if (failed)
		throw pool_error(EIO, cat("discard on thin device ", dev, " failed"));
}

// One discard bio: the blocks it covers whole are unmapped.
void thin_pool::discard_piece(active_thin& t, uint64_t begin_sector, uint64_t end_sector)
{
	uint64_t bs = config_.block_size;
	uint64_t begin = (begin_sector + bs - 1) / bs, end = end_sector / bs;
	if (end <= begin)
		return;
	if (mode_ == pool_mode::fail)
		throw pool_error(EIO, "the pool has failed");
	if (changes_no_metadata(mode_))
		return;  // completed without effect
	uint64_t mapped_before = t.td->details.mapped_blocks;
	if (config_.features.discard_passdown) {
		discard_passdown(t, begin, end);
	} else if (!metadata_op([&] { pmd_->remove_range(t.td, begin, end); })) {
		throw pool_error(EIO, "unmapping failed");
	}
	if (!changes_no_metadata(mode_))
		stats_.unmapped += mapped_before - t.td->details.mapped_blocks;
}

// Each run of mapped blocks is unmapped and its data blocks held (so they
// cannot be allocated again) while the data device discards those no
// longer shared; then they are let go.
void thin_pool::discard_passdown(active_thin& t, uint64_t begin, uint64_t end)
{
	passdowns_.clear();
	bool failed = false;
	while (begin != end && !changes_no_metadata(mode_)) {
		std::optional<thin::mapped_range> r = pmd_->find_mapped_range(t.td, begin, end);
		if (!r)
			break;
		uint64_t data_end = r->data_begin + (r->thin_end - r->thin_begin);
		if (!metadata_op([&] { pmd_->remove_range(t.td, r->thin_begin, r->thin_end); }) ||
		    !metadata_op([&] { pmd_->inc_data_range(r->data_begin, data_end); })) {
			failed = true;
		} else {
			pass_down(r->data_begin, data_end, r->maybe_shared);
			passdowns_.emplace_back(r->data_begin, data_end);
		}
		begin = r->thin_end;
	}
	for (auto [data_begin, data_end] : passdowns_)
		if (changes_no_metadata(mode_) || !metadata_op([&] { pmd_->dec_data_range(data_begin, data_end); }))
			failed = true;
	if (failed)
		throw pool_error(EIO, "unmapping failed");
}

// The discard sent to the data device: all of it when the mappings were
// not shared, else only the blocks nothing else holds now.
void thin_pool::pass_down(uint64_t data_begin, uint64_t data_end, bool maybe_shared)
{
	if (!data_.stores_data())
		return;
	uint64_t block_bytes = uint64_t(config_.block_size) * 512;
	if (!maybe_shared) {
		data_.zero(data_begin * block_bytes, (data_end - data_begin) * block_bytes);
		return;
	}
	for (uint64_t b = data_begin; b != data_end;) {
		while (b != data_end && pmd_->data_block_is_shared(b))
			++b;
		if (b == data_end)
			break;
		uint64_t e = b + 1;
		while (e != data_end && !pmd_->data_block_is_shared(e))
			++e;
		data_.zero(b * block_bytes, (e - b) * block_bytes);
		b = e;
	}
}

}
