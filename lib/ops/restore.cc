#include "ops/restore.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/text.h"
#include "io/aligned_buffer.h"
#include "io/block_device.h"
#include "ops/xml_reader.h"
#include "pdata/space_map_disk.h"
#include "thin/superblock.h"

namespace thinmeta::ops {

namespace {

// Passes warnings on with the place in the XML they concern.
class located_warnings final : public restore_warnings {
public:
	explicit located_warnings(restore_warnings& to) : to_(to) {}
	void warning(const std::string& text) override { to_.warning(reader ? reader->place() + text : text); }

	const xml_reader* reader = nullptr;

private:
	restore_warnings& to_;
};

struct stat stat_or_throw(const std::string& path, const char* role)
{
	struct stat st;
	if (::stat(path.c_str(), &st) == 0)
		return st;
	int err = errno;
	if (err == ENOENT)
		throw error(cat(path, ": no such file: the ", role,
		                role == std::string("output")
		                    ? " must be an existing block device or a file large enough for the metadata "
		                      "(thin_metadata_size estimates the size)"
		                    : " must be an existing file"));
	throw io_error(path, err);
}

// block_device refuses a device in use too, but with advice for readers.
void refuse_busy_device(const std::string& path, const struct stat& st)
{
	if (!S_ISBLK(st.st_mode))
		return;
	int fd = ::open(path.c_str(), O_RDWR | O_EXCL | O_CLOEXEC);
	if (fd >= 0) {
		::close(fd);
		return;
	}
	if (errno == EBUSY)
		throw error(cat(path, ": the device is in use (is the pool active?); deactivate the pool before "
		                      "restoring its metadata"));
}

void zero_superblock(io::block_device& dev)
{
	if (dev.nr_blocks() == 0)
		return;
	try {
		io::aligned_buffer zero(1, true);
		dev.write_block(thin::superblock_location, zero.data());
		dev.flush();
	} catch (const error&) {
		// The error being reported matters more than this one.
	}
}

}

void check_output_target(const std::string& input, const std::string& output)
{
	struct stat in = stat_or_throw(input, "input");
	struct stat out = stat_or_throw(output, "output");
	if (in.st_dev == out.st_dev && in.st_ino == out.st_ino)
		throw error(cat(output, " is the input file: the output must be another file or device"));
	refuse_busy_device(output, out);
}

void build_metadata(const std::string& input, const std::string& output, const restore_overrides& overrides,
                    restore_warnings& warnings, const std::function<void(restore_events&)>& produce)
{
	check_output_target(input, output);
	io::block_device dev = io::block_device::open(output, io::access::read_write);
	uint64_t nr_blocks = dev.nr_blocks();
	if (nr_blocks > pdata::max_metadata_blocks) {
		warnings.warning(cat(output, " holds ", nr_blocks, " blocks; metadata uses at most ",
		                     pdata::max_metadata_blocks, " (the rest is left unused)"));
		nr_blocks = pdata::max_metadata_blocks;
	}
	zero_superblock(dev);

	restore_builder builder(dev, nr_blocks, overrides, warnings);
	try {
		produce(builder);
		if (!builder.complete())
			throw error(cat(input, ": the superblock is not complete"));
	} catch (...) {
		zero_superblock(dev);
		throw;
	}
}

void restore(const restore_options& options, progress_sink& progress, restore_warnings& warnings)
{
	located_warnings located(warnings);
	build_metadata(options.input, options.output, options.overrides, located, [&](restore_events& builder) {
		xml_reader reader(options.input, builder, progress);
		located.reader = &reader;
		reader.read();
		located.reader = nullptr;
	});
}

}
