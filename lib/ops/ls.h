// thin_ls: one row per thin device with the columns asked for, laid out as
// 0.9.0 lays them out.
#pragma once

#include <ostream>
#include <vector>

#include "ops/ls_fields.h"
#include "thin/metadata_reader.h"

namespace thinmeta::ops {

struct ls_options {
	thin::read_request source;
	std::vector<ls_field> fields = default_ls_fields();
	bool headers = true;
};

void list_devices(const ls_options& options, std::ostream& out);

}
