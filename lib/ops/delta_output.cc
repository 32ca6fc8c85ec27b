#include "ops/delta_output.h"

namespace thinmeta::ops {

const char* delta_kind_name(delta_kind kind)
{
	switch (kind) {
	case delta_kind::left_only:
		return "left_only";
	case delta_kind::right_only:
		return "right_only";
	case delta_kind::different:
		return "different";
	case delta_kind::same:
		return "same";
	}
	return "same";
}

void simple_delta_writer::add(delta_kind kind, uint64_t begin, uint64_t end)
{
	if (open_ && kind == kind_ && begin == end_) {
		end_ = end;
		return;
	}
	finish();
	open_ = true;
	kind_ = kind;
	begin_ = begin;
	end_ = end;
}

void simple_delta_writer::finish()
{
	if (!open_)
		return;
	xml_.open(delta_kind_name(kind_)).attr("begin", begin_).attr("length", end_ - begin_).end_empty();
	open_ = false;
}

void verbose_delta_writer::add(delta_kind kind, uint64_t vblock, uint64_t left_data, uint64_t right_data)
{
	// A piece goes on while the kind stays and every mapped side's data
	// blocks stay consecutive (a run ends where they do not).
	if (piece_open_ && kind == kind_ && vblock == begin_ + length_) {
		bool left_ok = kind == delta_kind::right_only || left_data == left_ + length_;
		bool right_ok = kind == delta_kind::left_only || right_data == right_ + length_;
		if (left_ok && right_ok) {
			++length_;
			return;
		}
	}
	if (piece_open_)
		write_piece();
	piece_open_ = true;
	kind_ = kind;
	begin_ = vblock;
	length_ = 1;
	left_ = left_data;
	right_ = right_data;
}

void verbose_delta_writer::write_piece()
{
	if (group_open_ && group_ != kind_) {
		xml_.close(delta_kind_name(group_));
		group_open_ = false;
	}
	if (!group_open_) {
		xml_.open(delta_kind_name(kind_)).end_open();
		group_ = kind_;
		group_open_ = true;
	}
	xml_.open("range").attr("begin", begin_);
	switch (kind_) {
	case delta_kind::different:
		xml_.attr("left_data_begin", left_).attr("right_data_begin", right_);
		break;
	case delta_kind::right_only:
		xml_.attr("data_begin", right_);
		break;
	default:
		xml_.attr("data_begin", left_);
	}
	xml_.attr("length", length_).end_empty();
}

void verbose_delta_writer::finish()
{
	if (piece_open_)
		write_piece();
	piece_open_ = false;
	if (group_open_)
		xml_.close(delta_kind_name(group_));
	group_open_ = false;
}

}
