#include "ops/rmap.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <span>
#include <string>

#include "base/error.h"
#include "base/pod_vector.h"
#include "base/radix_sort.h"
#include "io/aligned_buffer.h"
#include "pdata/btree_node.h"
#include "thin/block_time.h"
#include "thin/mapping_forest.h"

namespace thinmeta::ops {

namespace {

// A mapping whose data block is in one of the regions.
struct hit {
	uint64_t vblock;
	uint64_t data;
};

// Consecutive virtual blocks of one device mapped to consecutive data blocks.
struct rmap_run {
	uint64_t data_begin = 0;
	uint64_t data_end = 0;
	uint64_t device = 0;
	uint64_t vbegin = 0;

	uint64_t next_vblock() const { return vbegin + (data_end - data_begin); }
	// Whether mapping vblock -> data continues the run.
	bool continued_by(uint64_t vblock, uint64_t data) const { return data == data_end && vblock == next_vblock(); }
};

// Data blocks [begin, end), listed together.
struct data_window {
	uint64_t begin;
	uint64_t end;
};

// Hits counted by bucket of data blocks, to plan the windows; a hit in a
// leaf that n devices share counts n times, as each may make a run. Buckets
// start at 64 blocks and double in size whenever the data blocks seen would
// need more than max_buckets of them.
class hit_histogram {
public:
	void add(uint64_t data, uint64_t n)
	{
		while ((data >> bits_) >= max_buckets)
			coarsen();
		uint64_t i = data >> bits_;
		if (i >= counts_.size())
			counts_.resize(i + 1, 0);
		counts_[i] += n;
	}

	// Windows of whole buckets, each counting at most `budget` unless one
	// bucket alone counts more; with the count of each.
	std::vector<std::pair<data_window, uint64_t>> windows(uint64_t budget) const
	{
		std::vector<std::pair<data_window, uint64_t>> out;
		for (uint64_t i = 0; i < counts_.size(); ++i) {
			if (!counts_[i])
				continue;
			uint64_t end = i + 1 == max_buckets ? UINT64_MAX : (i + 1) << bits_;
			if (!out.empty() && out.back().second + counts_[i] <= budget) {
				out.back().first.end = end;
				out.back().second += counts_[i];
			} else {
				out.push_back({{out.empty() ? 0 : i << bits_, end}, counts_[i]});
			}
		}
		return out;
	}

private:
	static constexpr uint64_t max_buckets = uint64_t(1) << 18;

	void coarsen()
	{
		for (uint64_t i = 0; i < counts_.size(); ++i)
			counts_[i / 2] = (i % 2 ? counts_[i / 2] : 0) + counts_[i];
		counts_.resize((counts_.size() + 1) / 2);
		++bits_;
	}

	unsigned bits_ = 6;
	std::vector<uint64_t> counts_;
};

// Formats runs into a large buffer, written out whenever it fills and by
// flush().
class run_writer {
public:
	explicit run_writer(std::ostream& out) : out_(out), buf_(capacity) {}

	void write(const rmap_run& r)
	{
		if (used_ + max_line > capacity)
			flush();
		char* p = buf_.data() + used_;
		p = put(p, "data ", r.data_begin);
		p = put(p, "..", r.data_end);
		p = put(p, " -> thin(", r.device);
		p = put(p, ") ", r.vbegin);
		p = put(p, "..", r.next_vblock());
		*p++ = '\n';
		used_ = static_cast<size_t>(p - buf_.data());
	}

	void flush()
	{
		out_.write(buf_.data(), static_cast<std::streamsize>(used_));
		used_ = 0;
	}

private:
	static constexpr size_t capacity = 1 << 20;
	static constexpr size_t max_line = 5 * 20 + 32;

	template <size_t N>
	static char* put(char* p, const char (&text)[N], uint64_t v)
	{
		p = std::copy_n(text, N - 1, p);
		return std::to_chars(p, p + 20, v).ptr;
	}

	std::ostream& out_;
	std::vector<char> buf_;
	size_t used_ = 0;
};

// Puts the runs in output order: by first data block, then device id, then
// virtual block. Runs are made device by device (ids ascending) in virtual
// block order, so a stable sort by first data block gives that order.
void sort_for_output(std::vector<rmap_run>& runs, std::vector<rmap_run>& scratch)
{
	if (runs.empty())
		return;
	auto [lo, hi] = std::minmax_element(runs.begin(), runs.end(), [](const rmap_run& a, const rmap_run& b) {
		return a.data_begin < b.data_begin;
	});
	uint64_t base = lo->data_begin;
	stable_radix_sort(runs, static_cast<unsigned>(std::bit_width(hi->data_begin - base)),
	                  [base](const rmap_run& r) { return r.data_begin - base; }, scratch);
}

// Lists the runs that start in one window of data blocks at a time. A run
// that reaches the window's end is followed into the leaves of its device
// past the window (they are read again), and the part beyond is
// remembered so that the later windows do not list it a second time.
class rmap_lister {
public:
	rmap_lister(const region_set& regions, std::span<const thin::thin_device> devices,
	            const thin::mapping_forest& forest, const io::block_device& dev)
	    : regions_(regions), devices_(devices), forest_(forest), dev_(dev), first_hit_(forest.nr_leaves() + 1, 0),
	      tails_(devices.size()), leaf_(1), leaf_devices_(forest.nr_leaves(), 0)
	{
		for (size_t d = 0; d < devices.size(); ++d)
			forest.device_leaves(d, [&](size_t leaf) { ++leaf_devices_[leaf]; });
	}

	// Reads every leaf, counting the hits by bucket of data blocks and
	// keeping them while the runs they can make are no more than `budget`.
	// Returns whether all were kept.
	bool survey(uint64_t budget, hit_histogram& histogram)
	{
		bool kept = true;
		uint64_t runs = 0;  // at most, in all devices
		forest_.read_leaves({}, [&](size_t i, const pdata::node_view& n) {
			for (uint32_t e = 0; e < n.nr_entries(); ++e) {
				uint64_t data = thin::block_time::unpack(n.value64(e)).block;
				if (!regions_.contains(data))
					continue;
				histogram.add(data, leaf_devices_[i]);
				runs += leaf_devices_[i];
				if (!kept)
					continue;
				if (runs > budget) {
					kept = false;
					hits_ = {};
					continue;
				}
				hits_.push_back({n.key(e), data});
			}
			first_hit_[i + 1] = hits_.size();
		});
		surveyed_runs_ = runs;
		return kept;
	}

	// The runs the hits found by survey() can make, at most.
	uint64_t surveyed_runs() const { return surveyed_runs_; }

	// Lists the runs (at most nr_runs) that start in window w; its hits are
	// read from the leaves when `collect`, else they are the ones survey()
	// kept.
	void list(data_window w, bool collect, uint64_t nr_runs, std::ostream& out)
	{
		window_ = w;
		if (collect) {
			hits_.clear();
			auto parts = regions_.within(w.begin, w.end);
			forest_.read_leaves({}, [&](size_t i, const pdata::node_view& n) {
				collect_hits(n, parts);
				first_hit_[i + 1] = hits_.size();
			});
		}
		runs_.clear();
		// Each run starts at a hit of the window, in one of the devices
		// sharing its leaf.
		runs_.reserve(nr_runs);
		sort_scratch_.reserve(nr_runs);
		for (size_t d = 0; d < devices_.size(); ++d)
			device_runs(d);
		drop_passed_tails();
		sort_for_output(runs_, sort_scratch_);
		run_writer writer(out);
		for (const rmap_run& r : runs_)
			writer.write(r);
		writer.flush();
	}

private:
	// The part past a window of a run an earlier window listed: data blocks
	// [data_begin, data_end) from virtual block vbegin on.
	struct listed_tail {
		uint64_t data_begin;
		uint64_t data_end;
		uint64_t vbegin;

		bool holds(const hit& x) const
		{
			return x.data >= data_begin && x.data < data_end && x.vblock == vbegin + (x.data - data_begin);
		}
	};

	// Appends the leaf's mappings of data blocks in `parts` (the regions
	// within the window) to hits_. Whether a mapping is in the window is as
	// good as random: with one part, a mapping is stored and kept or not by
	// arithmetic, no branch to mispredict.
	void collect_hits(const pdata::node_view& n, std::span<const data_region> parts)
	{
		uint32_t nr = n.nr_entries();
		size_t used = hits_.size();
		hits_.resize_for_overwrite(used + nr);
		hit* out = hits_.data() + used;
		if (parts.size() == 1) {
			uint64_t begin = parts[0].begin;
			uint64_t width = parts[0].end - parts[0].begin;
			for (uint32_t e = 0; e < nr; ++e) {
				uint64_t data = thin::block_time::unpack(n.value64(e)).block;
				*out = {n.key(e), data};
				out += data - begin < width;
			}
		} else {
			for (uint32_t e = 0; e < nr; ++e) {
				uint64_t data = thin::block_time::unpack(n.value64(e)).block;
				if (data >= window_.begin && data < window_.end && regions_.contains(data))
					*out++ = {n.key(e), data};
			}
		}
		hits_.truncate(static_cast<size_t>(out - hits_.data()));
	}

	void device_runs(size_t d)
	{
		auto& tails = tails_[d];
		rmap_run current;
		bool open = false;
		bool following = false;  // current has run past the window's end
		forest_.device_leaves(d, [&](size_t leaf) {
			if (following && !(following = follow(current, leaf))) {
				close(current, d);
				open = false;
			}
			for (size_t h = first_hit_[leaf]; h < first_hit_[leaf + 1]; ++h) {
				const hit& x = hits_[h];
				if (std::any_of(tails.begin(), tails.end(), [&](const listed_tail& t) { return t.holds(x); }))
					continue;
				if (open && current.continued_by(x.vblock, x.data)) {
					++current.data_end;
					continue;
				}
				if (open) {
					// x is in the window: a run past it ends before x.
					if (reaches_window_end(current))
						follow(current, leaf);
					close(current, d);
				}
				current = {x.data, x.data + 1, devices_[d].id, x.vblock};
				open = true;
			}
			if (open && !following && reaches_window_end(current) && !(following = follow(current, leaf))) {
				close(current, d);
				open = false;
			}
		});
		if (open)
			close(current, d);
	}

	bool reaches_window_end(const rmap_run& run) const
	{
		return run.data_end == window_.end && window_.end != UINT64_MAX;
	}

	// Extends `run` past the window with the entries of `leaf` that continue
	// it; true when the leaf ends with the run still going.
	bool follow(rmap_run& run, size_t leaf)
	{
		dev_.read_block(forest_.leaf_at(leaf).block, leaf_.data());
		pdata::node_view n(leaf_.data());
		uint32_t e = 0;
		while (e < n.nr_entries() && n.key(e) < run.next_vblock())
			++e;
		for (; e < n.nr_entries(); ++e) {
			uint64_t data = thin::block_time::unpack(n.value64(e)).block;
			if (!run.continued_by(n.key(e), data) || !regions_.contains(data))
				return false;
			++run.data_end;
		}
		return true;
	}

	// Lists the run; its part past the window is skipped by later windows.
	void close(const rmap_run& run, size_t d)
	{
		runs_.push_back(run);
		if (run.data_end > window_.end)
			tails_[d].push_back({window_.end, run.data_end, run.vbegin + (window_.end - run.data_begin)});
	}

	// Tails wholly behind the window are done with.
	void drop_passed_tails()
	{
		for (auto& tails : tails_)
			std::erase_if(tails, [&](const listed_tail& t) { return t.data_end <= window_.end; });
	}

	const region_set& regions_;
	std::span<const thin::thin_device> devices_;
	const thin::mapping_forest& forest_;
	const io::block_device& dev_;
	pod_vector<hit> hits_;
	std::vector<size_t> first_hit_;
	std::vector<rmap_run> runs_;
	// Kept from window to window, as are hits_ and runs_: fresh pages for
	// each window cost more than the sort.
	std::vector<rmap_run> sort_scratch_;
	std::vector<std::vector<listed_tail>> tails_;
	io::aligned_buffer leaf_;
	data_window window_{0, UINT64_MAX};
	std::vector<uint32_t> leaf_devices_;  // devices whose tree holds each leaf
	uint64_t surveyed_runs_ = 0;
};

}

void write_rmap(const rmap_options& options, std::ostream& out)
{
	if (options.regions.empty())
		throw error("no regions given: name the data blocks to look up with --region BEGIN..END");
	region_set regions(options.regions);
	thin::metadata_reader md(options.source);
	// Every device of the mapping tree's top level, as 0.9.0 walks it.
	auto devices = md.mapping_roots();
	// Runs are made in this order; the output relies on ids ascending.
	std::sort(devices.begin(), devices.end(), [](auto& a, auto& b) { return a.id < b.id; });
	thin::mapping_forest forest(md.device(), devices);

	// Each distinct leaf is read once per window; its hits are kept for
	// every device whose tree holds it.
	rmap_lister lister(regions, devices, forest, md.device());
	uint64_t budget = options.runs_per_window
	                      ? options.runs_per_window
	                      : std::clamp<uint64_t>(md.device().nr_blocks() * 24, uint64_t(1) << 20, uint64_t(16) << 20);
	hit_histogram histogram;
	if (lister.survey(budget, histogram)) {
		lister.list({0, UINT64_MAX}, false, lister.surveyed_runs(), out);
		return;
	}
	for (const auto& [window, nr_runs] : histogram.windows(budget))
		lister.list(window, true, nr_runs, out);
}

}
