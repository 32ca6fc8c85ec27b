// The XML dump format, byte for byte as thin_dump 0.9.0 prints it: the flat
// <superblock>/<device> layout with range_mapping for runs and
// single_mapping for lone mappings.
#pragma once

#include <ostream>

#include "ops/dump_emitter.h"
#include "ops/xml_writer.h"

namespace thinmeta::ops {

class dump_xml_emitter final : public dump_emitter {
public:
	explicit dump_xml_emitter(std::ostream& out);

	void begin_pool(const dump_pool_header& pool) override;
	void begin_device(const dump_device_header& device) override;
	void run(const mapping_run& r) override;
	void end_device() override;
	void end_pool() override;
	void flush() override;
	void check_output() const override;

private:
	std::ostream& out_;
	xml_writer xml_;
};

}
