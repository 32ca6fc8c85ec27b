// The one-shot operations behind thin_sim's commands for people: each
// opens the pool on its images (activating only what it needs), does one
// thing as the kernel would, and closes the pool cleanly (committing).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sim/pool_session.h"
#include "sim/pool_status.h"

namespace thinmeta::sim {

// Makes `path` an image file of at least `size` bytes (a new file is
// sparse; a smaller one grows; a larger one is left as it is).
void prepare_image(const std::string& path, uint64_t size);

// Opens the pool (formatting blank metadata) and closes it.
void create_pool(const pool_setup& setup);
// A pool message; throws thin::pool_error with the kernel's errno.
void send_message(const pool_setup& setup, std::string_view text);
pool_status pool_status_of(const pool_setup& setup);

void write_pattern(const pool_setup& setup, uint64_t dev, uint64_t offset, uint64_t length, uint8_t byte);
// Writes the whole file, whose size must be a multiple of 512 bytes.
void write_file(const pool_setup& setup, uint64_t dev, uint64_t offset, const std::string& path);
// The sha256 of the bytes read (hex).
std::string read_digest(const pool_setup& setup, uint64_t dev, uint64_t offset, uint64_t length);
void read_to_file(const pool_setup& setup, uint64_t dev, uint64_t offset, uint64_t length,
                  const std::string& path);
void discard_range(const pool_setup& setup, uint64_t dev, uint64_t offset, uint64_t length);

}
