// The XML body of thin_delta, as 0.9.0 prints it. 0.9.0 splits both devices'
// mappings into runs of consecutive virtual and data blocks and cuts the
// merged runs into pieces wherever a run ends or the kind changes:
//   simple:  touching pieces of one kind are merged into
//            <same begin="0" length="5"/>;
//   verbose: consecutive pieces of one kind are grouped in <same>...</same>,
//            each piece a <range begin=".." data_begin=".." length=".."/>
//            (left_data_begin and right_data_begin for <different>).
#pragma once

#include <cstdint>

#include "ops/delta_walk.h"
#include "ops/xml_writer.h"

namespace thinmeta::ops {

const char* delta_kind_name(delta_kind kind);

// Writes simple-mode elements, merging touching ranges of one kind.
class simple_delta_writer {
public:
	explicit simple_delta_writer(xml_writer& xml) : xml_(xml) {}
	// Virtual blocks [begin, end) are all of `kind`; calls come in key order.
	void add(delta_kind kind, uint64_t begin, uint64_t end);
	void finish();

private:
	xml_writer& xml_;
	bool open_ = false;
	delta_kind kind_ = delta_kind::same;
	uint64_t begin_ = 0;
	uint64_t end_ = 0;
};

// Builds 0.9.0's pieces from single mappings and writes them verbosely.
class verbose_delta_writer {
public:
	explicit verbose_delta_writer(xml_writer& xml) : xml_(xml) {}
	void add(delta_kind kind, uint64_t vblock, uint64_t left_data, uint64_t right_data);
	void finish();

private:
	void write_piece();

	xml_writer& xml_;
	bool piece_open_ = false;
	bool group_open_ = false;
	delta_kind kind_ = delta_kind::same;
	delta_kind group_ = delta_kind::same;
	uint64_t begin_ = 0;
	uint64_t length_ = 0;
	uint64_t left_ = 0;
	uint64_t right_ = 0;
};

}
