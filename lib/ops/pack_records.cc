#include "ops/pack_records.h"

#include <algorithm>
#include <zlib.h>

#include "base/error.h"
#include "base/text.h"

namespace thinmeta::ops {

void deflate_record(std::span<const uint8_t> raw, std::vector<uint8_t>& out)
{
	uLongf len = compressBound(static_cast<uLong>(raw.size()));
	out.resize(len);
	int rc = compress2(out.data(), &len, raw.data(), static_cast<uLong>(raw.size()), Z_BEST_SPEED);
	if (rc != Z_OK)
		throw error(cat("zlib could not compress a record (error ", rc, ")"));
	out.resize(len);
}

void inflate_record(std::span<const uint8_t> compressed, std::vector<uint8_t>& out, size_t limit)
{
	z_stream z{};
	if (inflateInit(&z) != Z_OK)
		throw error("zlib could not start");
	z.next_in = const_cast<Bytef*>(compressed.data());
	z.avail_in = static_cast<uInt>(compressed.size());
	out.clear();
	int rc = Z_OK;
	while (rc == Z_OK) {
		size_t used = out.size();
		if (used >= limit) {
			inflateEnd(&z);
			throw error(cat("a record inflates to more than ", limit, " bytes"));
		}
		size_t room = std::min<size_t>(limit - used, std::max<size_t>(used, 1 << 20));
		out.resize(used + room);
		z.next_out = out.data() + used;
		z.avail_out = static_cast<uInt>(room);
		// With room to write, Z_BUF_ERROR means the input ran out.
		rc = inflate(&z, Z_NO_FLUSH);
		out.resize(used + (room - z.avail_out));
	}
	size_t left = z.avail_in;
	inflateEnd(&z);
	if (rc != Z_STREAM_END) {
		if (rc == Z_OK || rc == Z_BUF_ERROR)
			throw error("a record's compressed data ends early (the pack file is truncated or damaged)");
		throw error(cat("a record's compressed data is damaged (zlib error ", rc, ")"));
	}
	if (left)
		throw error(cat("a record has ", left, " bytes after its compressed data"));
}

}
