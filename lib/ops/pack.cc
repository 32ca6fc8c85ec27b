#include "ops/pack.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "base/endian.h"
#include "base/error.h"
#include "base/ordered_jobs.h"
#include "base/text.h"
#include "io/aligned_buffer.h"
#include "io/block_device.h"
#include "ops/pack_decoder.h"
#include "ops/pack_encoder.h"
#include "ops/pack_format.h"
#include "ops/pack_records.h"
#include "ops/pack_replacing_file.h"
#include "pdata/block_checksum.h"

namespace thinmeta::ops {

namespace {

// Blocks read from the input at once (4 MiB).
constexpr uint64_t read_blocks = 1024;
// What a record may inflate to: far more than 1024 encoded blocks need.
constexpr size_t record_limit = 256u << 20;

bool all_zero(const uint8_t* block)
{
	uint64_t acc = 0;
	for (size_t i = 0; i < block_size; i += 8)
		acc |= load_le64(block + i);
	return acc == 0;
}

// The first block at or after b that may hold data: image files are often
// sparse, and their holes read as zeros, so they are skipped unread.
uint64_t next_data_block(const io::block_device& dev, uint64_t b)
{
	if (b >= dev.nr_blocks() || dev.is_block_device())
		return b;
	off_t data = ::lseek(dev.fd(), static_cast<off_t>(b * block_size), SEEK_DATA);
	if (data < 0)
		return errno == ENXIO ? dev.nr_blocks() : b;
	return std::max<uint64_t>(b, static_cast<uint64_t>(data) / block_size);
}

void put_le64(std::vector<uint8_t>& out, uint64_t v)
{
	uint8_t b[8];
	store_le64(b, v);
	out.insert(out.end(), b, b + 8);
}

// A record's blocks, decoded: their numbers, and their contents one after
// another, in the record's order.
struct decoded_record {
	std::vector<uint64_t> numbers;
	std::vector<uint8_t> blocks;
};

// Inflates and decodes one record of an image of nr_blocks blocks; throws
// thinmeta::error saying what in it is wrong.
decoded_record decode_record(const std::vector<uint8_t>& compressed, uint64_t nr_blocks)
{
	std::vector<uint8_t> raw;
	inflate_record(compressed, raw, record_limit);
	decoded_record r;
	pack_decoder d(raw);
	while (!d.at_end()) {
		uint64_t b = d.read_u64();
		if (b >= nr_blocks)
			throw error(cat("block ", b, " is past the end of the image (", nr_blocks, " blocks)"));
		r.blocks.resize(r.blocks.size() + block_size);
		uint8_t* block = r.blocks.data() + r.numbers.size() * block_size;
		try {
			d.decode_block(block);
		} catch (const error& e) {
			throw error(cat("block ", b, ": ", e.what()));
		}
		if (!pdata::identify_block(block))
			throw error(cat("block ", b, " decodes to a block without a metadata checksum"));
		r.numbers.push_back(b);
	}
	return r;
}

// Reads a pack file: its header, then one record at a time.
class pack_reader {
public:
	explicit pack_reader(const std::string& path) : path_(path)
	{
		fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
		if (fd_ < 0)
			throw io_error(path, errno);
		struct stat st;
		if (::fstat(fd_, &st) < 0) {
			int err = errno;
			::close(fd_);
			throw io_error(path, err);
		}
		// A pipe's size is not known: only a file's bounds the records.
		size_ = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : UINT64_MAX;
	}
	~pack_reader() { ::close(fd_); }

	uint64_t read_header()
	{
		uint8_t h[pack_header_size];
		size_t got = read_some(h, sizeof(h));
		if (got < sizeof(h))
			throw error(cat(path_, ": too short to be a pack file (", got, " bytes; the header alone is ",
			                pack_header_size, ")"));
		if (load_le64(h) != pack_magic)
			throw error(cat(path_, ": not a pack file (bad magic number)"));
		if (load_le64(h + 8) != pack_version)
			throw error(cat(path_, ": pack format version ", load_le64(h + 8), " is not supported (only ",
			                pack_version, ")"));
		if (load_le64(h + 16) != pack_block_size)
			throw error(cat(path_, ": block size ", load_le64(h + 16), " is not supported (only ",
			                pack_block_size, ")"));
		return load_le64(h + 24);
	}

	// The next record's compressed bytes; false at the end of the file.
	bool next_record(std::vector<uint8_t>& out)
	{
		uint8_t len_bytes[8];
		size_t got = read_some(len_bytes, 8);
		if (got == 0)
			return false;
		++records_;
		if (got < 8)
			throw error(cat(path_, ": record ", records_, " is cut short (the pack file is truncated)"));
		uint64_t len = load_le64(len_bytes);
		if (len > record_limit)
			throw error(cat(path_, ": record ", records_, " claims ", len,
			                " bytes (the pack file is damaged)"));
		if (size_ != UINT64_MAX && len > size_ - offset_)
			throw error(cat(path_, ": record ", records_, " is cut short (the pack file is truncated)"));
		out.resize(len);
		if (read_some(out.data(), len) < len)
			throw error(cat(path_, ": record ", records_, " is cut short (the pack file is truncated)"));
		return true;
	}

	uint64_t records() const { return records_; }
	uint64_t offset() const { return offset_; }

private:
	size_t read_some(void* buf, size_t len)
	{
		size_t done = 0;
		while (done < len) {
			ssize_t n = ::read(fd_, static_cast<char*>(buf) + done, len - done);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				throw io_error(cat(path_, ": read failed"), errno);
			}
			if (n == 0)
				break;
			done += static_cast<size_t>(n);
		}
		offset_ += done;
		return done;
	}

	std::string path_;
	int fd_ = -1;
	uint64_t size_ = 0;
	uint64_t records_ = 0;
	uint64_t offset_ = 0;
};

}

pack_summary pack_metadata(const std::string& input, const std::string& output)
{
	auto dev = io::block_device::open(input, io::access::read_only);
	replacing_file out(output);
	pack_summary summary;
	summary.nr_blocks = dev.nr_blocks();

	std::vector<uint8_t> header;
	for (uint64_t v : {pack_magic, pack_version, pack_block_size, summary.nr_blocks})
		put_le64(header, v);
	out.write_all(header.data(), header.size());
	summary.pack_bytes = header.size();

	// Records are compressed on other threads and written here, in order.
	ordered_jobs<std::vector<uint8_t>> compressing(ordered_jobs<std::vector<uint8_t>>::per_core());
	auto write_record = [&](const std::vector<uint8_t>& compressed) {
		uint8_t length[8];
		store_le64(length, compressed.size());
		out.write_all(length, sizeof(length));
		out.write_all(compressed.data(), compressed.size());
		summary.pack_bytes += sizeof(length) + compressed.size();
	};
	std::string raw;
	uint32_t in_record = 0;
	auto flush_record = [&] {
		if (compressing.full())
			write_record(compressing.take_oldest());
		compressing.start([raw = std::move(raw)] {
			std::vector<uint8_t> compressed;
			deflate_record({reinterpret_cast<const uint8_t*>(raw.data()), raw.size()}, compressed);
			return compressed;
		});
		raw = std::string();
		in_record = 0;
	};

	io::aligned_buffer buf(read_blocks);
	for (uint64_t first = next_data_block(dev, 0); first < summary.nr_blocks;) {
		uint64_t n = std::min(read_blocks, summary.nr_blocks - first);
		dev.read_range(first, n, buf.data());
		for (uint64_t i = 0; i < n; ++i) {
			const uint8_t* block = buf.block(i);
			if (all_zero(block))
				continue;
			auto kind = pdata::identify_block(block);
			if (!kind)
				continue;
			char number[8];
			store_le64(number, first + i);
			raw.append(number, 8);
			encode_pack_block(block, *kind, raw);
			++summary.packed_blocks;
			if (++in_record == pack_blocks_per_record)
				flush_record();
		}
		first = next_data_block(dev, first + n);
	}
	if (in_record)
		flush_record();
	while (!compressing.empty())
		write_record(compressing.take_oldest());
	if (summary.packed_blocks == 0)
		throw error(cat(input, ": holds no metadata blocks (no block has a metadata checksum): "
		                       "is it a thin-pool metadata device?"));
	out.commit();
	return summary;
}

pack_summary unpack_metadata(const std::string& input, const std::string& output)
{
	pack_reader in(input);
	pack_summary summary;
	summary.nr_blocks = in.read_header();
	if (summary.nr_blocks > (uint64_t(1) << 40))
		throw error(cat(input, ": the header says the image has ", summary.nr_blocks,
		                " blocks (the pack file is damaged)"));
	replacing_file out(output);
	out.set_size(summary.nr_blocks * block_size);

	// Records are inflated and decoded on other threads and written here, in
	// order: a later copy of a block overwrites an earlier one.
	ordered_jobs<decoded_record> decoding(ordered_jobs<decoded_record>::per_core());
	auto write_record = [&](const decoded_record& r) {
		for (size_t first = 0, end; first < r.numbers.size(); first = end) {
			for (end = first + 1; end < r.numbers.size() && r.numbers[end] == r.numbers[end - 1] + 1; ++end)
				;
			out.write_at(r.numbers[first] * block_size, r.blocks.data() + first * block_size,
			             (end - first) * block_size);
		}
		summary.packed_blocks += r.numbers.size();
	};
	std::vector<uint8_t> compressed;
	for (;;) {
		bool more;
		try {
			more = in.next_record(compressed);
		} catch (...) {
			// A damaged record before the one that cannot be read is the
			// first fault in the file: report that one.
			while (!decoding.empty())
				decoding.take_oldest();
			throw;
		}
		if (!more)
			break;
		if (decoding.full())
			write_record(decoding.take_oldest());
		decoding.start([input, record = in.records(), nr_blocks = summary.nr_blocks,
		                compressed = std::move(compressed)] {
			try {
				return decode_record(compressed, nr_blocks);
			} catch (const error& e) {
				throw error(cat(input, ": record ", record, ": ", e.what(), " (the pack file is damaged)"));
			}
		});
		compressed = std::vector<uint8_t>();
	}
	while (!decoding.empty())
		write_record(decoding.take_oldest());
	// Packs are never written without blocks; a file that ends right after
	// its header lost everything else. (A cut exactly between two later
	// records cannot be seen: the format has no record count.)
	if (!in.records())
		throw error(cat(input, ": holds nothing after its header (the pack file is truncated)"));
	summary.pack_bytes = in.offset();
	out.commit();
	return summary;
}

}
