#include "ops/delta.h"

#include <algorithm>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/text.h"
#include "ops/delta_output.h"
#include "ops/delta_shared.h"
#include "ops/delta_walk.h"
#include "ops/xml_writer.h"

namespace thinmeta::ops {

namespace {

struct resolved_side {
	delta_tree tree;
	std::optional<uint64_t> mapped_blocks;  // from the device details
	const char* attr = "left";              // "left" or "left_root"
	uint64_t attr_value = 0;
};

// The details tree only helps thin_delta (see delta_shared.h): if it
// cannot be read, the diff goes on without it.
std::vector<thin::thin_device> details_if_readable(const thin::metadata_reader& md)
{
	try {
		return md.device_details();
	} catch (const error&) {
		return {};
	}
}

resolved_side resolve(const thin::metadata_reader& md, const std::vector<thin::thin_device>& roots,
                      const std::vector<thin::thin_device>& details, const delta_side& side, bool left)
{
	auto by_id = [](const thin::thin_device& d, uint64_t id) { return d.id < id; };
	resolved_side r;
	if (side.device) {
		// As 0.9.0, a device is looked up in the mapping tree's top level.
		auto it = std::lower_bound(roots.begin(), roots.end(), *side.device, by_id);
		if (it == roots.end() || it->id != *side.device)
			throw error(cat(md.device().path(), ": there is no thin device ", *side.device, " (the ",
			                left ? "first" : "second", " device to diff)"));
		r.tree = {it->mapping_root, cat("device ", it->id)};
		auto d = std::lower_bound(details.begin(), details.end(), *side.device, by_id);
		if (d != details.end() && d->id == *side.device)
			r.mapped_blocks = d->details.mapped_blocks;
		r.attr = left ? "left" : "right";
		r.attr_value = it->id;
	} else {
		md.device().check_in_range(*side.root, left ? "--root1" : "--root2");
		r.tree = {*side.root, cat("the tree at block ", *side.root)};
		r.attr = left ? "left_root" : "right_root";
		r.attr_value = *side.root;
	}
	return r;
}

void open_document(xml_writer& xml, const thin::superblock& sb, const resolved_side& left,
                   const resolved_side& right)
{
	xml.open("superblock")
	    .attr("uuid", "")
	    .attr("time", sb.time)
	    .attr("transaction", sb.trans_id)
	    .attr("data_block_size", sb.data_block_size)
	    .attr("nr_data_blocks", sb.data_sm.nr_blocks);
	if (sb.metadata_snap)
		xml.attr("metadata_snap", sb.metadata_snap);
	xml.end_open();
	xml.open("diff").attr(left.attr, left.attr_value).attr(right.attr, right.attr_value).end_open();
}

void close_document(xml_writer& xml)
{
	xml.close("diff");
	xml.close("superblock");
}

// Keeps the simple output's ranges, merged as they come, and the shared
// subtrees in their places, until the subtrees' contents are known.
class simple_collector final : public delta_sink {
public:
	struct item {
		delta_kind kind;
		uint64_t begin;
		uint64_t end;
		size_t subtree;  // index into subtrees, or none
	};
	static constexpr size_t none = SIZE_MAX;

	void mapping(delta_kind kind, uint64_t vblock, uint64_t, uint64_t) override
	{
		if (!items.empty() && items.back().subtree == none && items.back().kind == kind &&
		    items.back().end == vblock) {
			++items.back().end;
			return;
		}
		items.push_back({kind, vblock, vblock + 1, none});
	}
	void shared(const shared_subtree& s) override
	{
		items.push_back({delta_kind::same, 0, 0, subtrees.size()});
		subtrees.push_back(s);
	}

	std::vector<item> items;
	std::vector<shared_subtree> subtrees;
};

// The mappings both sides' shared subtrees hold, if the device details say.
std::optional<uint64_t> mappings_in_shared(const resolved_side& left, const resolved_side& right,
                                           const delta_walk_counts& counts)
{
	if (!left.mapped_blocks || !right.mapped_blocks || *left.mapped_blocks < counts.left ||
	    *right.mapped_blocks < counts.right)
		return std::nullopt;
	uint64_t l = *left.mapped_blocks - counts.left;
	uint64_t r = *right.mapped_blocks - counts.right;
	if (l != r)
		return std::nullopt;
	return l;
}

void write_simple(const thin::metadata_reader& md, const resolved_side& left, const resolved_side& right,
                  std::ostream& out)
{
	const auto& dev = md.device();
	simple_collector found;
	auto counts = walk_delta(dev, left.tree, right.tree, found);

	std::optional<std::vector<mapped_span>> spans;
	if (!found.subtrees.empty())
		if (auto total = mappings_in_shared(left, right, counts))
			spans = prove_spans_full(dev, found.subtrees, *total, left.tree.name);

	xml_writer xml(out);
	open_document(xml, md.sb(), left, right);
	simple_delta_writer body(xml);
	for (const auto& it : found.items) {
		if (it.subtree == simple_collector::none) {
			body.add(it.kind, it.begin, it.end);
		} else if (spans) {
			const auto& s = (*spans)[it.subtree];
			if (s.end > s.begin)
				body.add(delta_kind::same, s.begin, s.end);
		} else {
			scan_subtree(dev, found.subtrees[it.subtree], left.tree.name,
			             [&](uint64_t v, uint64_t) { body.add(delta_kind::same, v, v + 1); });
		}
	}
	body.finish();
	close_document(xml);
}

// Streams verbose output; a shared subtree's leaves are read (to report
// their data blocks) but not compared.
class verbose_sink final : public delta_sink {
public:
	verbose_sink(const io::block_device& dev, const std::string& tree_name, verbose_delta_writer& body)
	    : dev_(dev), tree_name_(tree_name), body_(body)
	{
	}
	void mapping(delta_kind kind, uint64_t vblock, uint64_t left_data, uint64_t right_data) override
	{
		body_.add(kind, vblock, left_data, right_data);
	}
	void shared(const shared_subtree& s) override
	{
		scan_subtree(dev_, s, tree_name_, [&](uint64_t v, uint64_t d) { body_.add(delta_kind::same, v, d, d); });
	}

private:
	const io::block_device& dev_;
	const std::string& tree_name_;
	verbose_delta_writer& body_;
};

void write_verbose(const thin::metadata_reader& md, const resolved_side& left, const resolved_side& right,
                   std::ostream& out)
{
	xml_writer xml(out);
	open_document(xml, md.sb(), left, right);
	verbose_delta_writer body(xml);
	verbose_sink sink(md.device(), left.tree.name, body);
	walk_delta(md.device(), left.tree, right.tree, sink);
	body.finish();
	close_document(xml);
}

}

void write_delta(const delta_options& options, std::ostream& out)
{
	if (!options.left.device && !options.left.root)
		throw error("the first device is not given: use --thin1 (or --snap1, or --root1)");
	if (!options.right.device && !options.right.root)
		throw error("the second device is not given: use --thin2 (or --snap2, or --root2)");
	thin::metadata_reader md(options.source);
	std::vector<thin::thin_device> roots, details;
	if (options.left.device || options.right.device) {
		roots = md.mapping_roots();
		details = details_if_readable(md);
	}
	auto left = resolve(md, roots, details, options.left, true);
	auto right = resolve(md, roots, details, options.right, false);
	if (options.verbose)
		write_verbose(md, left, right, out);
	else
		write_simple(md, left, right, out);
}

}
