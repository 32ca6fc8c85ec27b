// The dump source for damaged metadata (thin_dump --repair, and the input
// side of thin_repair): the plan's devices with their recounted mapping
// totals, and each device's mappings as far as they can be read, skipping
// damaged subtrees and mappings past the end of the data device. Devices
// that map the same data block get snap_times that let the kernel see it
// as shared (see settle_sharing), and leaves that several devices reach
// are known, for thin_repair to write them once.
#pragma once

#include <string>
#include <vector>

#include "ops/dump_source.h"
#include "ops/repair_plan.h"
#include "pdata/btree_walk.h"

namespace thinmeta::ops {

class repair_source final : public dump_source {
public:
	repair_source(const io::block_device& dev, repair_plan plan);
	repair_source(const repair_source&) = delete;
	repair_source& operator=(const repair_source&) = delete;

	const std::string& path() const override { return dev_.path(); }
	const io::block_device& device() const { return dev_; }
	dump_pool_header pool() const override;
	std::vector<thin::thin_device> devices() override;
	void mappings(const thin::thin_device& device, mapping_sink& sink) override;

	const repair_plan& plan() const { return plan_; }
	// Whether more than one device reaches the whole leaf (thin_repair
	// writes such a leaf once and refers to it). A leaf only partly usable
	// is never shared.
	bool leaf_shared(block_address leaf) const
	{
		return leaf < leaf_uses_.size() && leaf_uses_[leaf] >= 2 && leaf_uses_[leaf] != used_partly;
	}

	static constexpr uint8_t used_partly = 255;

private:
	// A data block several devices map must look shared to each of them
	// (snap_time later than the mapping's time), or the kernel would write
	// to it in place, and thin_restore refuses such metadata. Details from
	// an older transaction than the trees, or lost details, can say
	// otherwise: those snap_times (and the pool's time) are raised.
	// Counts are kept only over the data blocks actually mapped. The same
	// pass counts the devices reaching each leaf.
	void settle_sharing();
	// The device's mappings as far as they can be read.
	void walk(const recovered_device& d, mapping_sink& sink);

	const io::block_device& dev_;
	repair_plan plan_;
	pdata::btree_walker walker_;
	std::vector<uint8_t> leaf_uses_;  // devices reaching each leaf whole, or used_partly
};

}
