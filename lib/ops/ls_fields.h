// The columns thin_ls can print: their names on the command line and in the
// header row, what each needs computed, and how a cell is formatted (plain
// numbers, or the human units of 0.9.0 such as "8192KiB" and "670MiB").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "thin/device_details.h"

namespace thinmeta::ops {

enum class ls_quantity : uint8_t {
	device_id,
	mapped,
	exclusive,
	shared,
	highest,  // the highest mapped virtual block (thin-provisioning-tools 1.x)
	transaction,
	create_time,
	snap_time,
};

enum class ls_unit : uint8_t { blocks, sectors, bytes, human, plain };

struct ls_field {
	std::string_view name;  // as given to -o and printed in the header
	ls_quantity quantity;
	ls_unit unit;
};

// What one device's row is made of.
struct ls_row_values {
	uint64_t id = 0;
	thin::device_details details;
	uint64_t exclusive = 0;
	uint64_t highest = 0;  // 0 when nothing is mapped, as 1.x prints it
};

// The columns 0.9.0 prints when no -o is given.
std::vector<ls_field> default_ls_fields();
// Parses a comma-separated list; throws thinmeta::error naming an unknown field.
std::vector<ls_field> parse_ls_fields(std::string_view list);
// Every field name, for help text.
std::vector<std::string_view> ls_field_names();
// True when a field needs the mappings read (exclusive, shared or highest).
bool needs_mapping_counts(const std::vector<ls_field>& fields);

std::string format_ls_cell(const ls_field& field, const ls_row_values& row, uint32_t data_block_size);

// 0.9.0's human units: "0", "8192KiB", "8MiB", "670MiB", "4096MiB", "10GiB".
std::string format_human_size(unsigned __int128 bytes);

}
