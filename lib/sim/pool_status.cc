#include "sim/pool_status.h"

#include "base/text.h"

namespace thinmeta::sim {

std::string status_line(const pool_status& s)
{
	if (s.mode == pool_mode::fail)
		return "Fail";
	const char* discards = !s.discard_enabled ? "ignore_discard"
	                       : s.discard_passdown ? "discard_passdown"
	                                            : "no_discard_passdown";
	std::string held = s.held_root ? cat(s.held_root) : std::string("-");
	return cat(s.transaction_id, ' ', s.metadata_used, '/', s.metadata_total, ' ', s.data_used, '/', s.data_total,
	           ' ', held, ' ', status_word(s.mode), ' ', discards, ' ',
	           s.error_if_no_space ? "error_if_no_space" : "queue_if_no_space", ' ',
	           s.needs_check ? "needs_check" : "-", ' ', s.metadata_low_water);
}

}
