#include "ops/dump_output_check.h"

#include "base/error.h"

namespace thinmeta::ops {

void check_dump_output(const std::ostream& out)
{
	if (!out.good())
		throw error("cannot write the dump: the output stream failed");
}

}
