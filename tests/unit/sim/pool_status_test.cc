#include <catch2/catch.hpp>

#include <cerrno>

#include "sim/errno_text.h"
#include "sim/pool_status.h"

using namespace thinmeta::sim;

TEST_CASE("the status line has the kernel's fields and words")
{
	pool_status s;
	s.transaction_id = 1;
	s.metadata_used = 421;
	s.metadata_total = 4096;
	s.data_used = 2;
	s.data_total = 1024;
	s.held_root = 43;
	s.metadata_low_water = 1024;
	CHECK(status_line(s) == "1 421/4096 2/1024 43 rw discard_passdown queue_if_no_space - 1024");

	s.held_root = 0;
	s.mode = pool_mode::out_of_data_space;
	s.discard_passdown = false;
	s.error_if_no_space = true;
	s.needs_check = true;
	CHECK(status_line(s) == "1 421/4096 2/1024 - out_of_data_space no_discard_passdown error_if_no_space needs_check 1024");

	s.mode = pool_mode::out_of_metadata_space;
	s.discard_enabled = false;
	CHECK(status_line(s) == "1 421/4096 2/1024 - ro ignore_discard error_if_no_space needs_check 1024");
	s.mode = pool_mode::read_only;
	CHECK(status_line(s) == "1 421/4096 2/1024 - ro ignore_discard error_if_no_space needs_check 1024");
	s.mode = pool_mode::fail;
	CHECK(status_line(s) == "Fail");
}

TEST_CASE("errors read as glibc's strerror writes them")
{
	CHECK(errno_text(EEXIST) == "File exists");
	CHECK(errno_text(ENODATA) == "No data available");
	CHECK(errno_text(EINVAL) == "Invalid argument");
	CHECK(errno_text(EBUSY) == "Device or resource busy");
	CHECK(errno_text(EOPNOTSUPP) == "Operation not supported");
	CHECK(errno_text(ENOSPC) == "No space left on device");
	CHECK(errno_text(EIO) == "Input/output error");
	CHECK(errno_text(ENODEV) == "No such device");
}
