// The human_readable dump format, byte for byte as thin_dump 0.9.0 prints it:
// a "begin superblock" line, a block of "name: value" lines per device, and
// one line per run ("    (0..1) -> (10..11), 0") or lone mapping
// ("    100 -> 20, 1").
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "ops/dump_emitter.h"

namespace thinmeta::ops {

class dump_human_emitter final : public dump_emitter {
public:
	explicit dump_human_emitter(std::ostream& out);
	~dump_human_emitter() override;

	void begin_pool(const dump_pool_header& pool) override;
	void begin_device(const dump_device_header& device) override;
	void run(const mapping_run& r) override;
	void end_device() override;
	void end_pool() override;
	void flush() override;
	void check_output() const override;

private:
	void put(std::string_view text) { text_ += text; }
	void put(uint64_t n);
	void end_line();
	// "label" value, and the end of the line.
	void field_line(std::string_view label, uint64_t value);

	std::ostream& out_;
	std::string text_;  // lines not yet handed to the stream
};

}
