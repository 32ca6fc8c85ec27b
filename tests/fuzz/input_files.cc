#include "input_files.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <unistd.h>
#include <vector>

#include "base/endian.h"
#include "io/block.h"
#include "pdata/block_checksum.h"

namespace thinmeta::fuzz {

namespace {

// Superblock: metadata space map root at 192, its nr_blocks first.
constexpr size_t sb_metadata_nr_blocks = 192;

// By the selector in byte 0 of a block (input_files.h); 0 is unused.
constexpr pdata::block_kind sealed_kinds[] = {pdata::block_kind::superblock, pdata::block_kind::superblock,
                                              pdata::block_kind::btree_node, pdata::block_kind::bitmap,
                                              pdata::block_kind::index};

class scratch {
public:
	scratch()
	{
		const char* base = std::getenv("TMPDIR");
		std::string tmpl = std::string(base && *base ? base : "/tmp") + "/thinmeta-fuzz-XXXXXX";
		std::vector<char> buf(tmpl.begin(), tmpl.end());
		buf.push_back('\0');
		if (!::mkdtemp(buf.data()))
			throw std::runtime_error("cannot make a scratch directory under " + tmpl);
		path = buf.data();
	}
	~scratch()
	{
		std::error_code ec;
		std::filesystem::remove_all(path, ec);
	}
	std::string path;
};

}

const std::string& scratch_dir()
{
	static scratch dir;
	return dir.path;
}

std::string write_file(const std::string& name, const uint8_t* data, size_t size)
{
	std::string path = scratch_dir() + "/" + name;
	std::ofstream out(path, std::ios::binary | std::ios::trunc);
	out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
	if (!out)
		throw std::runtime_error("cannot write " + path);
	return path;
}

std::string write_image(const std::string& name, const uint8_t* data, size_t size, uint64_t max_blocks)
{
	size_t nr = size / block_size + (size % block_size != 0);
	std::vector<uint8_t> image(data, data + size);
	image.resize(nr * block_size);
	for (size_t b = 0; b < nr; ++b) {
		uint8_t* block = image.data() + b * block_size;
		if (block[0] >= 1 && block[0] < std::size(sealed_kinds))
			pdata::seal_block(block, sealed_kinds[block[0]]);
	}
	uint64_t blocks = nr;
	if (nr)
		blocks = std::max<uint64_t>(nr, std::min(load_le64(image.data() + sb_metadata_nr_blocks), max_blocks));
	std::string path = write_file(name, image.data(), image.size());
	if (::truncate(path.c_str(), static_cast<off_t>(blocks * block_size)) != 0)
		throw std::runtime_error("cannot extend " + path);
	return path;
}

}
