#include "sim/workload.h"

#include <deque>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/text.h"

namespace thinmeta::sim {

namespace {

class workload {
public:
	workload(pool_session& session, const workload_options& o, std::ostream& out, std::ostream* script_out)
	    : pool_(session.pool()), o_(o), runner_(session, out), script_out_(script_out),
	      random_(o.seed * 0x9E3779B97F4A7C15ull + 1)
	{
		block_bytes_ = uint64_t(pool_.config().block_size) * 512;
		pool_status u = pool_.usage();
		data_blocks_ = u.data_total;
		span_ = o.span ? o.span : data_blocks_ / (o.volumes + 1);
		if (span_ < o.write_blocks)
			throw error(cat("the data device holds ", data_blocks_, " blocks: too few to write ", o.volumes,
			                " volumes of ", o.write_blocks, "-block writes"));
		span_ = std::min(span_, pool_.config().thin_sectors / pool_.config().block_size);
		cursor_.assign(o.volumes, 0);
		next_snapshot_id_ = o.volumes;
	}

	workload_result run(progress_sink& progress)
	{
		workload_result result;
		for (uint64_t v = 0; v < o_.volumes; ++v)
			if (!pool_.is_active(v))
				line(cat("create_thin ", v));
		result.stopped_by = "the writes were done";
		uint64_t total = o_.writes;
		for (uint64_t w = 0; !o_.writes || w < o_.writes; ++w) {
			if (const char* why = reason_to_stop()) {
				result.stopped_by = why;
				break;
			}
			if (o_.metadata_snap && !snap_held_ && halfway(w)) {
				line("reserve_metadata_snap");
				snap_held_ = true;
			}
			write_once();
			++result.writes;
			if (o_.snapshot_every && (w + 1) % o_.snapshot_every == 0)
				snapshot();
			if (o_.discard_every && (w + 1) % o_.discard_every == 0)
				discard();
			if ((w + 1) % std::max<uint64_t>(o_.flush_every, 1) == 0)
				line("flush");
			if ((w & 255) == 0)
				report_progress(progress, w, total);
		}
		line("flush");
		runner_.finish();
		result.summary.lines = lines_;
		result.summary.operations = runner_.operations();
		result.summary.failures = runner_.failures();
		result.summary.stats = pool_.stats();
		result.summary.usage = pool_.usage();
		return result;
	}

private:
	uint64_t pick(uint64_t n) { return n ? random_() % n : 0; }

	void line(const std::string& text)
	{
		++lines_;
		if (script_out_)
			*script_out_ << text << "\n";
		runner_.run_line(lines_, text);
	}

	bool halfway(uint64_t w)
	{
		if (o_.writes)
			return w >= o_.writes / 2;
		if (o_.metadata_target_percent) {
			pool_status u = pool_.usage();
			return u.metadata_used * 200 >= u.metadata_total * o_.metadata_target_percent;
		}
		return w >= data_blocks_ / 4;
	}

	// Writes done of those asked for; else metadata in use of the target;
	// else data in use of what the workload may use.
	void report_progress(progress_sink& progress, uint64_t writes_done, uint64_t writes)
	{
		if (writes) {
			progress.update("workload writes", writes_done, writes);
			return;
		}
		pool_status u = pool_.usage();
		if (o_.metadata_target_percent)
			progress.update("workload metadata", u.metadata_used * 100,
			                u.metadata_total * o_.metadata_target_percent);
		else
			progress.update("workload data", u.data_used, u.data_total);
	}

	const char* reason_to_stop()
	{
		if (++checks_ % 64 != 0)
			return nullptr;
		pool_status u = pool_.usage();
		if (u.mode != pool_mode::write)
			return "the pool left write mode";
		if (o_.metadata_target_percent && u.metadata_used * 100 >= u.metadata_total * o_.metadata_target_percent)
			return "the metadata target was reached";
		// Keep clear of running out: a write may need a block per block written.
		if (u.data_total - u.data_used < 64 * o_.write_blocks + 64)
			return "the data device is nearly full";
		if (u.metadata_total - u.metadata_used < 64)
			return "the metadata device is nearly full";
		return nullptr;
	}

	void write_once()
	{
		uint64_t dev;
		bool to_snapshot = !snapshots_.empty() && pick(100) < o_.snapshot_write_percent;
		uint64_t start;
		if (to_snapshot) {
			dev = snapshots_[pick(snapshots_.size())];
			start = pick(span_ - o_.write_blocks + 1);
		} else {
			uint64_t v = pick(o_.volumes);
			dev = v;
			if (pick(100) < o_.sequential_percent) {
				if (cursor_[v] + o_.write_blocks > span_)
					cursor_[v] = 0;
				start = cursor_[v];
			} else {
				start = pick(span_ - o_.write_blocks + 1);
			}
			cursor_[v] = start + o_.write_blocks;
		}
		line(cat("write ", dev, " ", start * block_bytes_, " ", o_.write_blocks * block_bytes_, " ",
		         1 + pick(255)));
	}

	void snapshot()
	{
		uint64_t origin = next_origin_++ % o_.volumes;
		uint64_t id = next_snapshot_id_++;
		if (id > max_thin_id)
			throw error("the workload ran out of thin device ids");
		line(cat("create_snap ", id, " ", origin));
		snapshots_.push_back(id);
		if (o_.max_snapshots && snapshots_.size() > o_.max_snapshots) {
			line(cat("delete ", snapshots_.front()));
			snapshots_.pop_front();
		}
	}

	void discard()
	{
		uint64_t dev = pick(o_.volumes);
		uint64_t blocks = std::min(span_, 4 * o_.write_blocks);
		uint64_t start = pick(span_ - blocks + 1);
		line(cat("discard ", dev, " ", start * block_bytes_, " ", blocks * block_bytes_));
	}

	thin_pool& pool_;
	const workload_options& o_;
	script_runner runner_;
	std::ostream* script_out_;
	std::mt19937_64 random_;
	uint64_t block_bytes_ = 0;
	uint64_t data_blocks_ = 0;
	uint64_t span_ = 0;
	std::vector<uint64_t> cursor_;
	std::deque<uint64_t> snapshots_;
	uint64_t next_snapshot_id_ = 0;
	uint64_t next_origin_ = 0;
	uint64_t lines_ = 0;
	uint64_t checks_ = 0;
	bool snap_held_ = false;
};

}

workload_result run_workload(const pool_setup& setup, const workload_options& options, std::ostream& out,
                             std::ostream* script_out, progress_sink& progress)
{
	if (!options.volumes || !options.write_blocks)
		throw error("a workload needs at least one volume and writes of at least one block");
	pool_session session(setup);
	workload w(session, options, out, script_out);
	return w.run(progress);
}

}
