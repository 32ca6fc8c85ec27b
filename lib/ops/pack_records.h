// The zlib side of pack files: each record is one complete zlib stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace thinmeta::ops {

// Compresses `raw` into one zlib stream at zlib's fastest level: on kernel
// metadata three times as fast as the default level for a pack 5% larger.
void deflate_record(std::span<const uint8_t> raw, std::vector<uint8_t>& out);

// Inflates one record into `out`. Throws thinmeta::error when the stream is
// damaged, ends early, is followed by other bytes, or inflates to more than
// `limit` bytes.
void inflate_record(std::span<const uint8_t> compressed, std::vector<uint8_t>& out, size_t limit);

}
