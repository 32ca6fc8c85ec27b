#include "ops/trim.h"

#include <cerrno>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "base/error.h"
#include "base/text.h"
#include "io/aligned_buffer.h"
#include "io/block_device.h"
#include "io/read_ahead.h"
#include "ops/check.h"
#include "pdata/btree_walk.h"
#include "pdata/space_map_disk.h"
#include "thin/metadata_reader.h"

namespace thinmeta::ops {

namespace {

constexpr size_t bitmaps_per_batch = 256;

// Keeps the findings of the check that guards the trim, for the refusal.
class first_problem final : public check_listener {
public:
	void stage(std::string_view) override {}
	void value(std::string_view, uint64_t) override {}
	void finding(severity s, const std::string& text) override
	{
		if (s != severity::warning && first.empty())
			first = text;
	}
	std::string first;
};

// The data space map's bitmap blocks, by bitmap number.
std::vector<block_address> data_bitmaps(const io::block_device& dev, const thin::superblock& sb)
{
	struct collector final : pdata::strict_btree_visitor {
		explicit collector(std::vector<block_address>& out) : strict_btree_visitor("data space map index"), out_(out) {}
		bool visit(block_address, const pdata::node_view& n, const pdata::key_range&) override
		{
			if (n.is_leaf())
				for (uint32_t i = 0; i < n.nr_entries(); ++i)
					if (n.key(i) < out_.size())
						out_[n.key(i)] = pdata::index_entry::decode(n.value(i)).blocknr;
			return true;
		}
		std::vector<block_address>& out_;
	};
	std::vector<block_address> out(pdata::nr_bitmaps_for(sb.data_sm.nr_blocks));
	collector c(out);
	pdata::btree_walker(dev, pdata::index_entry_size).walk(sb.data_sm.bitmap_root, c);
	return out;
}

// Discards byte ranges of the data device: BLKDISCARD on a block device, a
// punched hole (size kept) in a file.
class discarder {
public:
	discarder(const std::string& path, uint64_t bytes_needed) : path_(path)
	{
		struct stat st;
		if (::stat(path.c_str(), &st) < 0)
			throw io_error(path, errno);
		block_device_ = S_ISBLK(st.st_mode);
		if (!block_device_ && !S_ISREG(st.st_mode))
			throw error(cat(path, ": the data device must be a block device or an image file"));
		// O_EXCL on a block device: refuse one an active pool is using.
		fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (block_device_ ? O_EXCL : 0));
		if (fd_ < 0) {
			if (errno == EBUSY)
				throw error(cat(path, ": the device is in use (is the pool active?); deactivate the pool first"));
			throw io_error(path, errno);
		}
		uint64_t size = static_cast<uint64_t>(st.st_size);
		if (block_device_ && ::ioctl(fd_, BLKGETSIZE64, &size) < 0) {
			int err = errno;
			::close(fd_);
			throw io_error(cat(path, ": cannot read the device size"), err);
		}
		if (size < bytes_needed) {
			::close(fd_);
			throw error(cat(path, " holds ", size, " bytes but the pool's data device is ", bytes_needed,
			                " bytes: is this the right data device?"));
		}
	}
	~discarder() { ::close(fd_); }

	void discard(uint64_t offset, uint64_t length)
	{
		if (block_device_) {
			uint64_t range[2] = {offset, length};
			if (::ioctl(fd_, BLKDISCARD, range) < 0)
				throw io_error(cat(path_, ": discard of bytes ", offset, "..", offset + length - 1, " failed"), errno);
		} else if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
		                       static_cast<off_t>(length)) < 0) {
			throw io_error(cat(path_, ": punching a hole at bytes ", offset, "..", offset + length - 1, " failed"),
			               errno);
		}
	}

	void finish()
	{
		if (::fsync(fd_) < 0 && errno != EINVAL)
			throw io_error(cat(path_, ": flush failed"), errno);
	}

private:
	std::string path_;
	int fd_ = -1;
	bool block_device_ = false;
};

}

trim_result trim(const trim_options& options, progress_sink& progress)
{
	check_options check;
	check.path = options.metadata;
	first_problem findings;
	no_progress quiet;
	if (!check_metadata(check, findings, quiet).passed(false))
		throw error(cat(options.metadata, ": the metadata does not check clean (", findings.first,
		                "); run thin_check, and thin_repair if needed, before trimming"));

	thin::read_request request;
	request.path = options.metadata;
	thin::metadata_reader reader(request);
	const auto& sb = reader.sb();
	const io::block_device& dev = reader.device();
	uint64_t block_bytes = uint64_t(sb.data_block_size) * 512;
	uint64_t nr_blocks = sb.data_sm.nr_blocks;

	trim_result result;
	result.data_blocks = nr_blocks;
	discarder data(options.data, nr_blocks * block_bytes);

	// Free blocks in runs, bitmap after bitmap, each run one discard.
	auto bitmaps = data_bitmaps(dev, sb);
	std::vector<std::span<const block_address>> batches;
	for (size_t k = 0; k * bitmaps_per_batch < bitmaps.size(); ++k)
		batches.emplace_back(bitmaps.data() + k * bitmaps_per_batch,
		                     std::min(bitmaps_per_batch, bitmaps.size() - k * bitmaps_per_batch));
	io::read_ahead bitmap_reader(dev, batches);
	uint64_t run_begin = 0, run_length = 0;
	auto flush_run = [&]() {
		if (!run_length)
			return;
		data.discard(run_begin * block_bytes, run_length * block_bytes);
		result.blocks_discarded += run_length;
		result.bytes_discarded += run_length * block_bytes;
		++result.ranges;
		run_length = 0;
	};
	for (size_t k = 0; k < batches.size(); ++k) {
		const uint8_t* blocks = bitmap_reader.next();
		for (size_t j = 0; j < batches[k].size(); ++j) {
			uint64_t index = k * bitmaps_per_batch + j;
			const uint8_t* bitmap = blocks + j * block_size;
			uint64_t base = index * pdata::entries_per_bitmap;
			uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(pdata::entries_per_bitmap, nr_blocks - base));
			for (uint32_t e = 0; e < count; ++e) {
				if (pdata::bitmap_entry(bitmap, e) != 0) {
					flush_run();
					continue;
				}
				if (!run_length)
					run_begin = base + e;
				++run_length;
			}
			progress.update("trimming", index + 1, bitmaps.size());
		}
	}
	flush_run();
	data.finish();
	return result;
}

}
