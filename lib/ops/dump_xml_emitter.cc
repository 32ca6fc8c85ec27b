#include "ops/dump_xml_emitter.h"

#include "ops/dump_output_check.h"

namespace thinmeta::ops {

namespace {
// Lines are handed to the stream in batches of about this many bytes.
constexpr size_t batch_bytes = 64 << 10;
}

dump_xml_emitter::dump_xml_emitter(std::ostream& out) : out_(out), xml_(out, batch_bytes) {}

void dump_xml_emitter::begin_pool(const dump_pool_header& pool)
{
	// 0.9.0 never prints the uuid (it always writes uuid="") nor the
	// metadata snapshot's location.
	xml_.open("superblock")
	    .attr("uuid", "")
	    .attr("time", pool.time)
	    .attr("transaction", pool.transaction)
	    .attr("flags", pool.flags)
	    .attr("version", pool.version)
	    .attr("data_block_size", pool.data_block_size)
	    .attr("nr_data_blocks", pool.nr_data_blocks)
	    .end_open();
}

void dump_xml_emitter::begin_device(const dump_device_header& device)
{
	xml_.open("device")
	    .attr("dev_id", device.id)
	    .attr("mapped_blocks", device.details.mapped_blocks)
	    .attr("transaction", device.details.transaction_id)
	    .attr("creation_time", device.details.creation_time)
	    .attr("snap_time", device.details.snapshotted_time)
	    .end_open();
}

void dump_xml_emitter::run(const mapping_run& r)
{
	if (r.length == 1)
		xml_.open("single_mapping")
		    .attr("origin_block", r.origin_begin)
		    .attr("data_block", r.data_begin)
		    .attr("time", r.time)
		    .end_empty();
	else
		xml_.open("range_mapping")
		    .attr("origin_begin", r.origin_begin)
		    .attr("data_begin", r.data_begin)
		    .attr("length", r.length)
		    .attr("time", r.time)
		    .end_empty();
}

void dump_xml_emitter::end_device()
{
	xml_.close("device");
}

void dump_xml_emitter::end_pool()
{
	xml_.close("superblock");
}

void dump_xml_emitter::flush()
{
	xml_.flush();
	out_.flush();
	check_dump_output(out_);
}

void dump_xml_emitter::check_output() const
{
	check_dump_output(out_);
}

}
