#include "sim/pool_mode.h"

namespace thinmeta::sim {

const char* status_word(pool_mode mode)
{
	switch (mode) {
	case pool_mode::write:
		return "rw";
	case pool_mode::out_of_data_space:
		return "out_of_data_space";
	case pool_mode::out_of_metadata_space:
	case pool_mode::read_only:
		return "ro";
	case pool_mode::fail:
		break;
	}
	return "Fail";
}

const char* describe(pool_mode mode)
{
	switch (mode) {
	case pool_mode::write:
		return "write";
	case pool_mode::out_of_data_space:
		return "out-of-data-space";
	case pool_mode::out_of_metadata_space:
	case pool_mode::read_only:
		return "read-only";
	case pool_mode::fail:
		break;
	}
	return "fail";
}

}
