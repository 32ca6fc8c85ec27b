// What the fuzz targets share: a scratch directory of their own, input bytes
// written to a file there, and metadata images made from input bytes with
// their checksums resealed, so mutations reach past the checksum checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace thinmeta::fuzz {

// A directory for this process's scratch files, made once, removed at exit.
const std::string& scratch_dir();

// Writes `size` bytes to `name` in the scratch directory; returns its path.
std::string write_file(const std::string& name, const uint8_t* data, size_t size);

// Makes a metadata image file from fuzz input. The input is the image's
// blocks, the last one zero-padded; byte 0 of each block (part of its
// checksum, which is recomputed) says how to seal it: 1 superblock, 2 b-tree
// node, 3 bitmap, 4 index, anything else leaves the block as given. The file
// is extended with zeros (sparsely) to the size the superblock's metadata
// space map claims, up to `max_blocks`, so inputs need not carry the free
// tail of an image. Returns the path.
std::string write_image(const std::string& name, const uint8_t* data, size_t size, uint64_t max_blocks = 16384);

}
