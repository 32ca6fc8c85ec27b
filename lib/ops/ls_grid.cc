#include "ops/ls_grid.h"

#include <algorithm>

namespace thinmeta::ops {

void text_grid::render(std::ostream& out) const
{
	std::vector<size_t> widths;
	for (const auto& row : rows_) {
		if (widths.size() < row.size())
			widths.resize(row.size(), 0);
		for (size_t i = 0; i < row.size(); ++i)
			widths[i] = std::max(widths[i], row[i].size());
	}
	std::string line;
	for (const auto& row : rows_) {
		line.clear();
		for (size_t i = 0; i < row.size(); ++i) {
			line.append(widths[i] - row[i].size(), ' ');
			line += row[i];
			line += ' ';
		}
		line += '\n';
		out.write(line.data(), static_cast<std::streamsize>(line.size()));
	}
}

}
