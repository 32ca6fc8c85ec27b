// The modes a pool runs in, in order of degradation, as dm-thin's
// pool_mode: a mode at or past out_of_metadata_space changes no metadata.
#pragma once

namespace thinmeta::sim {

enum class pool_mode {
	write,                   // metadata may change
	out_of_data_space,       // no data block can be allocated
	out_of_metadata_space,   // like read_only until the metadata device grows
	read_only,               // metadata is never changed
	fail,                    // all I/O fails
};

// The mode as the pool status line shows it: rw, out_of_data_space or ro
// (fail shows the whole line as "Fail").
const char* status_word(pool_mode mode);
// A name for messages: write, out-of-data-space, read-only, fail.
const char* describe(pool_mode mode);

inline bool changes_no_metadata(pool_mode mode)
{
	return mode >= pool_mode::out_of_metadata_space;
}

}
