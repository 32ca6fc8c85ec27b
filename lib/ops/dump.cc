#include "ops/dump.h"

#include <algorithm>

#include "base/error.h"
#include "base/text.h"
#include "ops/dump_human_emitter.h"
#include "ops/dump_runs.h"
#include "ops/dump_strict_source.h"
#include "ops/dump_xml_emitter.h"
#include "thin/block_time.h"

namespace thinmeta::ops {

namespace {

// Hands each finished run to the emitter.
struct emit_run {
	dump_emitter* out;
	void operator()(const mapping_run& r) const { out->run(r); }
};

// Turns leaf entries into runs for the emitter, checking the output after
// each leaf so a dump to a closed pipe stops within a leaf's worth of text.
class run_emitting_sink final : public mapping_sink {
public:
	explicit run_emitting_sink(dump_emitter& out) : out_(out), grouper_(emit_run{&out}) {}

	void leaf_entries(const pdata::node_view& leaf, uint32_t begin, uint32_t end) override
	{
		for (uint32_t i = begin; i < end; ++i) {
			auto bt = thin::block_time::unpack(leaf.value64(i));
			grouper_.add(leaf.key(i), bt.block, bt.time);
		}
		out_.check_output();
	}

	void finish() { grouper_.finish(); }

private:
	dump_emitter& out_;
	mapping_run_grouper<emit_run> grouper_;
};

}

dump_format parse_dump_format(std::string_view name)
{
	if (name == "xml")
		return dump_format::xml;
	if (name == "human_readable")
		return dump_format::human_readable;
	throw error(cat("unknown dump format '", name, "' (the formats are xml and human_readable)"));
}

std::unique_ptr<dump_emitter> make_dump_emitter(dump_format format, std::ostream& out)
{
	if (format == dump_format::human_readable)
		return std::make_unique<dump_human_emitter>(out);
	return std::make_unique<dump_xml_emitter>(out);
}

std::vector<thin::thin_device> select_devices(dump_source& source, const dump_selection& selection)
{
	auto all = source.devices();
	if (selection.dev_ids.empty())
		return all;
	auto wanted = selection.dev_ids;
	std::sort(wanted.begin(), wanted.end());
	wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
	std::vector<thin::thin_device> chosen;
	chosen.reserve(wanted.size());
	for (uint64_t id : wanted) {
		auto it = std::lower_bound(all.begin(), all.end(), id,
		                           [](const thin::thin_device& d, uint64_t k) { return d.id < k; });
		if (it == all.end() || it->id != id)
			throw error(cat(source.path(), ": there is no device ", id, " in the metadata (it holds ",
			                all.size(), all.size() == 1 ? " device)" : " devices)"));
		chosen.push_back(*it);
	}
	return chosen;
}

void dump(dump_source& source, const std::vector<thin::thin_device>& devices, bool skip_mappings,
          dump_emitter& emitter)
{
	emitter.begin_pool(source.pool());
	run_emitting_sink sink(emitter);
	for (const auto& d : devices) {
		emitter.begin_device({d.id, d.details});
		if (!skip_mappings) {
			source.mappings(d, sink);
			sink.finish();
		}
		emitter.end_device();
		emitter.check_output();
	}
	emitter.end_pool();
	emitter.flush();
}

void dump(dump_source& source, const dump_selection& selection, dump_emitter& emitter)
{
	dump(source, select_devices(source, selection), selection.skip_mappings, emitter);
}

void dump_metadata(const dump_options& options, const std::function<std::ostream&()>& open_output)
{
	dump_strict_source source(options.input);
	auto devices = select_devices(source, options.selection);
	auto emitter = make_dump_emitter(options.format, open_output());
	dump(source, devices, options.selection.skip_mappings, *emitter);
}

void dump_metadata(const dump_options& options, std::ostream& out)
{
	dump_metadata(options, [&out]() -> std::ostream& { return out; });
}

}
