#include "ops/ls_fields.h"

#include <algorithm>

#include "base/error.h"
#include "base/text.h"

namespace thinmeta::ops {

namespace {

using u128 = unsigned __int128;

constexpr ls_field all_fields[] = {
	{"DEV", ls_quantity::device_id, ls_unit::plain},
	{"MAPPED_BLOCKS", ls_quantity::mapped, ls_unit::blocks},
	{"EXCLUSIVE_BLOCKS", ls_quantity::exclusive, ls_unit::blocks},
	{"SHARED_BLOCKS", ls_quantity::shared, ls_unit::blocks},
	{"MAPPED_SECTORS", ls_quantity::mapped, ls_unit::sectors},
	{"EXCLUSIVE_SECTORS", ls_quantity::exclusive, ls_unit::sectors},
	{"SHARED_SECTORS", ls_quantity::shared, ls_unit::sectors},
	{"MAPPED_BYTES", ls_quantity::mapped, ls_unit::bytes},
	{"EXCLUSIVE_BYTES", ls_quantity::exclusive, ls_unit::bytes},
	{"SHARED_BYTES", ls_quantity::shared, ls_unit::bytes},
	{"MAPPED", ls_quantity::mapped, ls_unit::human},
	{"EXCLUSIVE", ls_quantity::exclusive, ls_unit::human},
	{"SHARED", ls_quantity::shared, ls_unit::human},
	{"TRANSACTION", ls_quantity::transaction, ls_unit::plain},
	{"CREATE_TIME", ls_quantity::create_time, ls_unit::plain},
	{"SNAP_TIME", ls_quantity::snap_time, ls_unit::plain},
	// The highest mapped block, after thin-provisioning-tools 1.x, which
	// spells the block column HIGHEST_BLOCK.
	{"HIGHEST_MAPPED_BLOCK", ls_quantity::highest, ls_unit::blocks},
	{"HIGHEST_BLOCK", ls_quantity::highest, ls_unit::blocks},
	{"HIGHEST_SECTOR", ls_quantity::highest, ls_unit::sectors},
	{"HIGHEST_BYTE", ls_quantity::highest, ls_unit::bytes},
	{"HIGHEST_MAPPED", ls_quantity::highest, ls_unit::human},
};

const ls_field& field_named(std::string_view name)
{
	for (const auto& f : all_fields)
		if (f.name == name)
			return f;
	throw error(cat("unknown field '", name, "' in the field list (see thin_ls --help for the fields)"));
}

std::string decimal(u128 v)
{
	char buf[48];
	char* p = buf + sizeof(buf);
	do {
		*--p = static_cast<char>('0' + static_cast<unsigned>(v % 10));
		v /= 10;
	} while (v);
	return std::string(p, buf + sizeof(buf));
}

}

std::vector<ls_field> default_ls_fields()
{
	return {field_named("DEV"), field_named("MAPPED"), field_named("CREATE_TIME"), field_named("SNAP_TIME")};
}

std::vector<ls_field> parse_ls_fields(std::string_view list)
{
	// As 0.9.0 splits it: a trailing comma ends the list, an empty name
	// anywhere else is an unknown field.
	std::vector<ls_field> out;
	while (!list.empty()) {
		size_t comma = list.find(',');
		out.push_back(field_named(list.substr(0, comma)));
		if (comma == std::string_view::npos)
			break;
		list.remove_prefix(comma + 1);
	}
	return out;
}

std::vector<std::string_view> ls_field_names()
{
	std::vector<std::string_view> names;
	for (const auto& f : all_fields)
		names.push_back(f.name);
	return names;
}

bool needs_mapping_counts(const std::vector<ls_field>& fields)
{
	return std::any_of(fields.begin(), fields.end(), [](const ls_field& f) {
		return f.quantity == ls_quantity::exclusive || f.quantity == ls_quantity::shared ||
		       f.quantity == ls_quantity::highest;
	});
}

std::string format_human_size(u128 bytes)
{
	static constexpr const char* units[] = {"", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
	// 0.9.0: whole units, truncated, down to at most 1 Mi of a unit; then
	// one more unit, rounded to nearest, when more than 8 Ki remain.
	size_t i = 0;
	while (bytes > 1024 * 1024 && i + 2 < std::size(units)) {
		bytes /= 1024;
		++i;
	}
	if (bytes > 8 * 1024) {
		bytes = bytes / 1024 + (bytes % 1024 >= 512);
		++i;
	}
	return decimal(bytes) + units[i];
}

std::string format_ls_cell(const ls_field& field, const ls_row_values& row, uint32_t data_block_size)
{
	const auto& d = row.details;
	uint64_t shared = d.mapped_blocks > row.exclusive ? d.mapped_blocks - row.exclusive : 0;
	u128 blocks = 0;
	switch (field.quantity) {
	case ls_quantity::device_id:
		return decimal(row.id);
	case ls_quantity::transaction:
		return decimal(d.transaction_id);
	case ls_quantity::create_time:
		return decimal(d.creation_time);
	case ls_quantity::snap_time:
		return decimal(d.snapshotted_time);
	case ls_quantity::mapped:
		blocks = d.mapped_blocks;
		break;
	case ls_quantity::exclusive:
		blocks = row.exclusive;
		break;
	case ls_quantity::shared:
		blocks = shared;
		break;
	case ls_quantity::highest:
		// 1.x: the block itself, or the last sector or byte of that block.
		if (field.unit == ls_unit::blocks)
			return decimal(row.highest);
		if (field.unit == ls_unit::sectors)
			return decimal((u128(row.highest) + 1) * data_block_size - 1);
		{
			u128 last_byte = (u128(row.highest) + 1) * data_block_size * 512 - 1;
			return field.unit == ls_unit::human ? format_human_size(last_byte) : decimal(last_byte);
		}
	}
	switch (field.unit) {
	case ls_unit::blocks:
	case ls_unit::plain:
		return decimal(blocks);
	case ls_unit::sectors:
		return decimal(blocks * data_block_size);
	case ls_unit::bytes:
		return decimal(blocks * data_block_size * 512);
	case ls_unit::human:
		return format_human_size(blocks * data_block_size * 512);
	}
	return {};
}

}
