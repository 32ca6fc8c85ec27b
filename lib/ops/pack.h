// thin_metadata_pack and thin_metadata_unpack: a metadata device or image in
// the compact version-3 pack format of thin-provisioning-tools 1.x, and back.
//
// Packing keeps every block that carries a metadata checksum (superblock,
// b-tree node, space-map bitmap or index), found by reading the whole device
// in large sequential reads: the blocks the space maps call free still hold
// old nodes with good checksums, and keeping them makes pack then unpack
// give back the image byte for byte (and works on damaged metadata, which
// is what packs are mostly sent for). Zeroed and unrecognised blocks unpack
// as zeros. Unpacking writes an image of the original size.
//
// Neither leaves a partial output file: the output is written under a
// temporary name and renamed into place when complete.
#pragma once

#include <cstdint>
#include <string>

namespace thinmeta::ops {

struct pack_summary {
	uint64_t nr_blocks = 0;      // blocks in the image
	uint64_t packed_blocks = 0;  // blocks in the pack
	uint64_t pack_bytes = 0;     // size of the pack file
};

pack_summary pack_metadata(const std::string& input, const std::string& output);
pack_summary unpack_metadata(const std::string& input, const std::string& output);

}
