// A thin pool run in user space the way the kernel's dm-thin target
// (drivers/md/dm-thin.c, Linux 6.1: the thin-pool and thin targets) runs
// one, over thin::pool_metadata (dm-thin-metadata.c): the same sequence of
// metadata operations and commits for the same messages and I/O, so that
// the metadata left behind is what the kernel would have left, and the data
// image holds the same bytes. Devices are image files; time does not pass,
// except that I/O queued for want of data space waits out the kernel's
// no_space_timeout (periodic commits included) and then fails.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "sim/data_device.h"
#include "sim/metadata_store.h"
#include "sim/pool_config.h"
#include "sim/pool_mode.h"
#include "sim/pool_stats.h"
#include "sim/pool_status.h"
#include "pdata/space_map.h"
#include "thin/pool_error.h"
#include "thin/pool_metadata.h"

namespace thinmeta::sim {

// Every failure the kernel would report as an errno is a thin::pool_error
// carrying it (see errno_text).
class thin_pool {
public:
	// Creates the pool as `dmsetup create` of its table and the first resume
	// do: opens the metadata (formatting a device whose first block is all
	// zeroes), then grows the space maps to the devices' sizes.
	thin_pool(const pool_config& config, metadata_store& metadata, data_device& data);
	thin_pool(const thin_pool&) = delete;
	thin_pool& operator=(const thin_pool&) = delete;
	// Without close(), nothing more is committed (as a power cut).
	~thin_pool();

	const pool_config& config() const { return config_; }
	pool_mode mode() const { return mode_; }
	const pool_stats& stats() const { return stats_; }
	thin::pool_metadata& metadata() { return *pmd_; }

	// A pool message, e.g. "create_snap 1 0": parsed and answered as the
	// kernel's pool_message() does; a message that succeeds is committed.
	void message(std::string_view text);

	// Thin devices seen through an active thin target (`dmsetup create` of
	// "thin <pool> <id> [<origin>]"); the origin must outlive the activation.
	void activate(uint64_t dev, const external_origin* origin);
	void deactivate(uint64_t dev);
	bool is_active(uint64_t dev) const;
	// Active devices, in the order they were activated.
	std::vector<uint64_t> active_devices() const;
	// Every thin device the committed metadata holds, ascending.
	std::vector<uint64_t> devices_in_metadata();

	// I/O to an active device at byte offsets and lengths that are
	// multiples of 512, as one write()/read() with O_DIRECT, one BLKDISCARD
	// and one fsync of the thin device.
	void write(uint64_t dev, uint64_t offset, uint64_t length, data_source& source);
	// Passes the bytes read to `sink`, and stops at the end of the device.
	void read(uint64_t dev, uint64_t offset, uint64_t length, data_sink& sink);
	void discard(uint64_t dev, uint64_t offset, uint64_t length);
	void flush(uint64_t dev);

	// The status line's values; commits first, as `dmsetup status` does.
	pool_status status();
	// The same values as they stand, without a commit (after close(): as
	// the pool was left).
	pool_status usage();
	// Suspends and resumes the pool, taking in devices that have grown.
	void resize();
	// Loses everything since the last commit: the pool and its devices go
	// away without committing and come back from the metadata on disk.
	void crash();
	// Removes every thin device, then the pool: commits and closes.
	void close();

private:
	struct active_thin {
		uint64_t id;
		thin::thin_device td;
		const external_origin* origin;
	};
	enum class piece_state { done, failed, queued, prepared };
	// The part of one I/O that falls in one virtual block (one bio after
	// device-mapper has split the I/O at block boundaries).
	struct io_piece {
		uint64_t vblock = 0;
		uint64_t begin = 0, end = 0;  // bytes within the block
		uint64_t source_offset = 0;   // of these bytes within the whole I/O
		piece_state state = piece_state::done;
		int error = 0;
		uint64_t data_block = 0;
		bool data_written = false;  // a whole-block overwrite went ahead of the insert
		bool breaks_sharing = false;
	};

	// thin_pool.cc: the pool's life.
	void open_pool();
	void preresume();
	uint64_t data_blocks_on_device() const;
	uint64_t metadata_blocks_on_device() const;
	uint64_t metadata_low_water() const;
	active_thin& active_device(uint64_t dev);
	void fill_status(pool_status& s);

	// pool_modes.cc: modes, commits, allocation.
	void set_mode(pool_mode new_mode);
	bool commit();
	void metadata_operation_failed();
	void check_for_metadata_space();
	void check_for_data_space();
	int alloc_data_block(uint64_t& block);
	int io_error_code() const;
	int unserviceable_error() const;
	template <typename Fn>
	bool metadata_op(Fn&& fn);
	// Why the last metadata_op() failed.
	std::string metadata_failure_;

	// write_path.cc
	void split_into_pieces(uint64_t offset, uint64_t length);
	void map_write_piece(active_thin& t, io_piece& p, data_source& source);
	void allocate_block(active_thin& t, io_piece& p, data_source& source, bool copy_from_pool,
	                    uint64_t old_block);
	void prepare_new_block(active_thin& t, io_piece& p, data_source& source, bool copy_from_pool,
	                       uint64_t old_block);
	void complete_mapping(active_thin& t, io_piece& p, data_source& source);
	void wait_out_no_space(active_thin& t, data_source& source);
	void write_piece_data(io_piece& p, uint64_t data_block, data_source& source);
	void copy_into_block(uint64_t data_block, uint64_t block_offset, uint64_t length, const external_origin* origin,
	                     uint64_t from_offset);

	// read_path.cc
	void read_piece(active_thin& t, io_piece& p, data_sink& sink);

	// discard_path.cc
	void discard_piece(active_thin& t, uint64_t begin_sector, uint64_t end_sector);
	void discard_passdown(active_thin& t, uint64_t begin, uint64_t end);
	void pass_down(uint64_t data_begin, uint64_t data_end, bool maybe_shared);

	// pool_messages.cc
	void create_thin(uint64_t dev);
	void create_snap(uint64_t dev, uint64_t origin);
	void delete_device(uint64_t dev);
	void set_transaction_id(uint64_t current_id, uint64_t new_id);
	void reserve_metadata_snap();
	void release_metadata_snap();

	pool_config config_;
	metadata_store& metadata_;
	data_device& data_;
	std::unique_ptr<thin::pool_metadata> pmd_;
	pool_mode mode_ = pool_mode::write;
	bool error_if_no_space_ = false;   // may be set by the no-space timeout
	bool out_of_data_space_ = false;   // I/O errors are ENOSPC rather than EIO
	bool low_water_triggered_ = false;
	std::vector<active_thin> active_;
	pool_stats stats_;
	pool_status final_usage_;
	std::vector<io_piece> pieces_;  // reused by every I/O
	std::vector<std::pair<uint64_t, uint64_t>> passdowns_;  // data ranges a discard holds, reused
	std::vector<uint8_t> buffer_;   // staging for data, reused
};

// Runs a metadata operation of the I/O path; when it fails (out of
// metadata space, a refused change) the transaction is aborted and the
// pool turns read-only, as dm-thin's metadata_operation_failed(); the
// reason is kept in metadata_failure_.
template <typename Fn>
bool thin_pool::metadata_op(Fn&& fn)
{
	try {
		fn();
		return true;
	} catch (const thin::pool_error& e) {
		metadata_failure_ = e.what();
	} catch (const pdata::no_space_error& e) {
		metadata_failure_ = e.what();
	}
	metadata_operation_failed();
	return false;
}

}
