// thin_metadata_size's estimate: how much metadata a pool needs, computed
// and printed as thin-provisioning-tools 0.9.0 does (see
// thin_metadata_size(8) for why 0.9.0 and not 1.x): one block for the
// superblock, one per thin device, and the leaves of the mappings at half
// occupancy, 126 mappings per 4 KiB block. Sizes take 0.9.0's unit
// suffixes: b, s (sectors), k/K, m/M, g/G, t/T, p/P, e/E, z/Z, y/Y (lower
// case binary, upper case decimal), or a leading part of a unit's name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace thinmeta::ops {

enum class numeric_output {
	none,        // the full sentence
	plain,       // the number alone
	short_unit,  // the number and the unit's letter
	long_unit,   // the number and the unit's name
};

struct metadata_size_options {
	std::string block_size;  // "NUMBER[UNIT]", sectors without a unit
	std::string pool_size;   // "NUMBER[UNIT]", sectors without a unit
	std::string max_thins;   // "NUMBER[UNIT]", a count (a unit multiplies it)
	std::string unit = "s";  // what the answer is given in
	numeric_output numeric = numeric_output::none;
};

struct metadata_size_estimate {
	uint64_t nr_blocks = 0;      // 4 KiB metadata blocks
	std::string line;            // what the tool prints
	std::vector<std::string> notes;  // cautions for stderr
};

// Throws thinmeta::error naming the option that is wrong.
metadata_size_estimate estimate_metadata_size(const metadata_size_options& options);

// The unit a -u argument or a size suffix names: a letter of
// "bskKmMgGtTpPeEzZyY", or the leading part of a unit's name ("kib",
// "mega"). Returns its index in that list.
std::optional<size_t> find_size_unit(std::string_view text);

// "-nshort", "--numeric-only=l": any leading part of "short" or "long".
numeric_output parse_numeric_output(std::string_view text);

}
