#include "ops/metadata_size.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "base/error.h"
#include "base/text.h"
#include "pdata/space_map_disk.h"

namespace thinmeta::ops {

namespace {

constexpr std::string_view unit_letters = "bskKmMgGtTpPeEzZyY";
// 0.9.0's names, its spelling of "zetabytes" included.
constexpr std::array<std::string_view, 18> unit_names = {
    "bytes",     "sectors",   "kibibytes", "kilobytes", "mebibytes", "megabytes", "gibibytes", "gigabytes", "tebibytes",
    "terabytes", "pebibytes", "petabytes", "ebibytes",  "exabytes",  "zebibytes", "zetabytes", "yobibytes", "yottabytes"};

constexpr uint64_t sector_bytes = 512;
// 0.9.0 assumes half-full leaves: 2 * pool / block / (4096 - 64) / 16.
constexpr uint64_t mappings_per_full_leaf = (4096 - 64) / 16;
constexpr uint32_t kernel_block_multiple = 128;
constexpr uint32_t kernel_max_block_size = 2097152;

using u128 = unsigned __int128;

u128 unit_factor(size_t idx)
{
	if (idx < 2)
		return idx == 0 ? 1 : sector_bytes;
	u128 base = idx % 2 == 0 ? 1024 : 1000;
	u128 f = 1;
	for (size_t i = 0; i < idx / 2; ++i)
		f *= base;
	return f;
}

struct size_arg {
	std::string digits;
	uint64_t number = 0;
	std::optional<size_t> unit;
};

size_arg parse_size(const std::string& text, const char* option)
{
	size_arg a;
	size_t n = 0;
	while (n < text.size() && text[n] >= '0' && text[n] <= '9')
		++n;
	a.digits = text.substr(0, n);
	if (n == 0)
		throw error(cat(option, ": '", text, "' does not start with a number"));
	auto r = std::from_chars(text.data(), text.data() + n, a.number);
	if (r.ec != std::errc())
		throw error(cat(option, ": ", a.digits, " is too large"));
	if (n < text.size()) {
		a.unit = find_size_unit(std::string_view(text).substr(n));
		if (!a.unit)
			throw error(cat(option, ": '", text.substr(n), "' is not a unit (", unit_letters,
			                " or the start of a unit's name)"));
	}
	return a;
}

// A count as given, times the unit's factor when one was given.
uint64_t scaled(const size_arg& a, bool to_sectors, const char* option)
{
	if (!a.unit)
		return a.number;
	u128 v = u128(a.number) * unit_factor(*a.unit);
	if (to_sectors)
		v /= sector_bytes;
	if (v > std::numeric_limits<uint64_t>::max())
		throw error(cat(option, ": ", a.digits, unit_names[*a.unit], " is too large"));
	return static_cast<uint64_t>(v);
}

std::string echo(const size_arg& a, std::string_view unit_when_none)
{
	return a.digits + std::string(a.unit ? unit_names[*a.unit] : unit_when_none);
}

std::string format_number(double r)
{
	char buf[64];
	double whole = std::floor(r);
	if (r == whole)
		std::snprintf(buf, sizeof(buf), "%.0f", r);
	else if (r - whole < 1e-2)
		std::snprintf(buf, sizeof(buf), "%0.2e", r);
	else
		std::snprintf(buf, sizeof(buf), "%0.2f", r);
	return buf;
}

}

std::optional<size_t> find_size_unit(std::string_view text)
{
	if (text.size() == 1) {
		size_t i = unit_letters.find(text[0]);
		return i == std::string_view::npos ? std::nullopt : std::optional<size_t>(i);
	}
	if (text.empty())
		return std::nullopt;
	for (size_t i = 0; i < unit_names.size(); ++i)
		if (unit_names[i].substr(0, text.size()) == text)
			return i;
	return std::nullopt;
}

numeric_output parse_numeric_output(std::string_view text)
{
	if (text.empty())
		return numeric_output::plain;
	if (std::string_view("short").substr(0, text.size()) == text)
		return numeric_output::short_unit;
	if (std::string_view("long").substr(0, text.size()) == text)
		return numeric_output::long_unit;
	throw error(cat("--numeric-only: '", text, "' is neither short nor long"));
}

metadata_size_estimate estimate_metadata_size(const metadata_size_options& o)
{
	auto unit = find_size_unit(o.unit);
	if (!unit)
		throw error(cat("--unit: '", o.unit, "' is not a unit (", unit_letters, " or the start of a unit's name)"));
	size_arg block = parse_size(o.block_size, "--block-size");
	size_arg pool = parse_size(o.pool_size, "--pool-size");
	size_arg thins = parse_size(o.max_thins, "--max-thins");
	uint64_t block_sectors = scaled(block, true, "--block-size");
	uint64_t pool_sectors = scaled(pool, true, "--pool-size");
	uint64_t nr_thins = scaled(thins, false, "--max-thins");
	if (block_sectors == 0)
		throw error("--block-size: the block size must be at least one sector");
	if (pool_sectors == 0)
		throw error("--pool-size: the pool size must be at least one sector");
	if (nr_thins == 0)
		throw error("--max-thins: there must be at least one thin device");
	if (pool_sectors <= block_sectors)
		throw error("--pool-size: the pool must be larger than a block");

	metadata_size_estimate e;
	if (block_sectors % kernel_block_multiple || block_sectors > kernel_max_block_size)
		e.notes.push_back(cat("a block size of ", block_sectors,
		                      " sectors is not one the kernel accepts (a multiple of 64 KiB up to 1 GiB)"));
	u128 blocks = 1 + (u128(2) * pool_sectors / block_sectors / mappings_per_full_leaf + nr_thins);
	if (blocks > std::numeric_limits<uint64_t>::max() / 8)
		throw error("the estimate is too large to express");
	e.nr_blocks = static_cast<uint64_t>(blocks);
	if (e.nr_blocks > pdata::max_metadata_blocks)
		e.notes.push_back(cat("that is more than the ", pdata::max_metadata_blocks,
		                      " blocks (15.88 GiB) of metadata a pool can use: larger blocks need less"));

	double r = double(e.nr_blocks) * 8 * sector_bytes / double(unit_factor(*unit));
	std::string number = format_number(r);
	switch (o.numeric) {
	case numeric_output::plain:
		e.line = number;
		break;
	case numeric_output::short_unit:
		e.line = number + unit_letters[*unit];
		break;
	case numeric_output::long_unit:
		e.line = number + std::string(unit_names[*unit]);
		break;
	case numeric_output::none:
		e.line = cat("thin_metadata_size - ", number, " ", unit_names[*unit],
		             " estimated metadata area size for \"--block-size=", echo(block, "sectors"),
		             " --pool-size=", echo(pool, "sectors"), " --max-thins=", echo(thins, ""), "\"");
		break;
	}
	return e;
}

}
