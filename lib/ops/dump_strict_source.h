// The dump source for metadata that should be sound: the live superblock or
// a metadata snapshot, read with metadata_reader, each device's mapping tree
// walked with batched reads. The first damage found is thrown as an error
// naming the file, the device, the block and the keys it held.
#pragma once

#include <string>
#include <vector>

#include "ops/dump_source.h"
#include "pdata/btree_walk.h"
#include "thin/metadata_reader.h"

namespace thinmeta::ops {

class dump_strict_source final : public dump_source {
public:
	explicit dump_strict_source(const thin::read_request& request);
	// The walker refers to the reader's device: neither may move.
	dump_strict_source(const dump_strict_source&) = delete;
	dump_strict_source& operator=(const dump_strict_source&) = delete;

	const std::string& path() const override { return reader_.device().path(); }

	dump_pool_header pool() const override;
	std::vector<thin::thin_device> devices() override;
	void mappings(const thin::thin_device& device, mapping_sink& sink) override;

private:
	thin::metadata_reader reader_;
	pdata::btree_walker walker_;  // kept across devices so its buffers are reused
	// Added to damage messages when the file is shorter than the metadata.
	std::string truncation_hint_;
};

}
