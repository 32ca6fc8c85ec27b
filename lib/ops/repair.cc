#include "ops/repair.h"

#include <algorithm>

#include "base/text.h"
#include "io/aligned_buffer.h"
#include "ops/dump_runs.h"
#include "ops/restore.h"
#include "thin/block_time.h"
#include "thin/superblock.h"

namespace thinmeta::ops {

namespace {

constexpr size_t notes_shown = 40;

std::string def_name(block_address leaf)
{
	return cat("leaf_", leaf);
}

std::string describe(const std::vector<pdata::key_range>& ranges)
{
	std::string out;
	for (size_t i = 0; i < ranges.size(); ++i) {
		if (i == 5)
			return out + cat(" and ", ranges.size() - 5, " more ranges");
		const auto& r = ranges[i];
		out += i ? ", " : "";
		if (!r.end)
			out += cat(r.begin, " onwards");
		else if (*r.end == r.begin + 1)
			out += cat(r.begin);
		else
			out += cat(r.begin, "..", *r.end - 1);
	}
	return out;
}

// Turns leaf entries into mapping events, grouped into runs; a leaf that
// several devices share becomes a reference to its def.
class event_sink final : public mapping_sink {
	struct emit {
		restore_events* out;
		void operator()(const mapping_run& r) const
		{
			out->mapping({r.origin_begin, r.data_begin, r.length, r.time});
		}
	};

public:
	event_sink(restore_events& out, const repair_source* shares) : out_(out), shares_(shares), grouper_(emit{&out})
	{
	}

	void leaf_entries(const pdata::node_view& leaf, uint32_t begin, uint32_t end) override
	{
		if (shares_ && end > begin && shares_->leaf_shared(leaf.location())) {
			grouper_.finish();
			out_.ref(def_name(leaf.location()));
			return;
		}
		for (uint32_t i = begin; i < end; ++i) {
			auto bt = thin::block_time::unpack(leaf.value64(i));
			grouper_.add(leaf.key(i), bt.block, bt.time);
		}
	}
	void finish() { grouper_.finish(); }

private:
	restore_events& out_;
	const repair_source* shares_;  // null: every leaf written out
	mapping_run_grouper<emit> grouper_;
};

}

std::vector<std::string> repair_report(const repair_plan& plan)
{
	std::vector<std::string> out;
	for (size_t i = 0; i < plan.notes.size() && i < notes_shown; ++i)
		out.push_back(plan.notes[i]);
	if (plan.notes.size() > notes_shown)
		out.push_back(cat("(", plan.notes.size() - notes_shown, " more problems not shown)"));
	uint64_t total = 0;
	for (const auto& d : plan.devices) {
		total += d.mappings;
		std::string line = cat("thin device ", d.id, ": recovered ", d.mappings, " mappings");
		if (d.from_snapshot)
			line += " from the metadata snapshot (an older state of the device)";
		if (!d.lost.empty())
			line += cat("; lost the mappings of virtual blocks ", describe(d.lost));
		if (d.details_lost)
			line += cat("; its details were lost (times set to ", d.details.creation_time, ")");
		out.push_back(line);
	}
	out.push_back(cat("recovered ", plan.devices.size(), plan.devices.size() == 1 ? " device" : " devices", " and ",
	                  total, " mappings; transaction ", plan.transaction_id, ", data block size ",
	                  plan.data_block_size, " sectors, ", plan.nr_data_blocks, " data blocks"));
	return out;
}

void emit_repaired(repair_source& source, restore_events& out)
{
	const repair_plan& plan = source.plan();
	superblock_event sb;
	sb.time = plan.time;
	sb.transaction = plan.transaction_id;
	sb.version = thin::superblock_version;
	sb.data_block_size = plan.data_block_size;
	sb.nr_data_blocks = plan.nr_data_blocks;
	out.begin_superblock(sb);

	// Shared leaves first, each once, read in block order.
	io::aligned_buffer leaf(1);
	for (block_address b = 0; b < source.device().nr_blocks(); ++b) {
		if (!source.leaf_shared(b))
			continue;
		source.device().read_block(b, leaf.data());
		pdata::node_view n(leaf.data());
		out.begin_def(def_name(b));
		event_sink sink(out, nullptr);
		sink.leaf_entries(n, 0, n.nr_entries());
		sink.finish();
		out.end_def();
	}

	for (const auto& d : source.devices()) {
		device_event e;
		e.dev_id = d.id;
		e.mapped_blocks = d.details.mapped_blocks;
		e.transaction = d.details.transaction_id;
		e.creation_time = d.details.creation_time;
		e.snap_time = d.details.snapshotted_time;
		out.begin_device(e);
		event_sink sink(out, &source);
		source.mappings(d, sink);
		sink.finish();
		out.end_device();
	}
	out.end_superblock();
}

std::vector<std::string> repair(const repair_options& options, progress_sink& progress)
{
	io::block_device in = io::block_device::open(options.input, io::access::read_only);
	// Before the long read of the input: a wrong output is found at once.
	check_output_target(options.input, options.output);
	repair_source source(in, plan_repair(in, options.overrides, progress));

	struct collect final : restore_warnings {
		std::vector<std::string> lines;
		void warning(const std::string& text) override { lines.push_back(text); }
	} warnings;
	restore_overrides settled;
	settled.sharing_settled = true;
	build_metadata(options.input, options.output, settled, warnings,
	               [&](restore_events& builder) { emit_repaired(source, builder); });
	auto report = repair_report(source.plan());
	report.insert(report.end(), warnings.lines.begin(), warnings.lines.end());
	return report;
}

std::vector<std::string> dump_repaired(const std::string& input, const repair_overrides& overrides,
                                       const dump_selection& selection, dump_format format,
                                       const std::function<std::ostream&()>& open_output, progress_sink& progress)
{
	io::block_device in = io::block_device::open(input, io::access::read_only);
	repair_source source(in, plan_repair(in, overrides, progress));
	auto devices = select_devices(source, selection);
	auto emitter = make_dump_emitter(format, open_output());
	dump(source, devices, selection.skip_mappings, *emitter);
	return repair_report(source.plan());
}

}
