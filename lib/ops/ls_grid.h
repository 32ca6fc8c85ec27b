// A table of text cells printed as 0.9.0's thin_ls prints it: every cell
// right-aligned to its column's widest cell and followed by one space.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace thinmeta::ops {

class text_grid {
public:
	void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
	void render(std::ostream& out) const;

private:
	std::vector<std::vector<std::string>> rows_;
};

}
