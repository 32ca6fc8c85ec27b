// thin_delta: the differences between two thin devices' mappings (or two
// mapping trees given by their root blocks) as the XML of 0.9.0, simple or
// verbose. The trees are walked together and subtrees they share are not
// compared, so two snapshots of a huge volume that differ a little diff fast.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>

#include "io/block.h"
#include "thin/metadata_reader.h"

namespace thinmeta::ops {

// A device id, or the root block of a bottom-level tree (1.x's --root1/--root2).
struct delta_side {
	std::optional<uint64_t> device;
	std::optional<block_address> root;
};

struct delta_options {
	thin::read_request source;
	delta_side left;
	delta_side right;
	bool verbose = false;
};

void write_delta(const delta_options& options, std::ostream& out);

}
