#include "ops/dump_human_emitter.h"

#include <charconv>

#include "ops/dump_output_check.h"

namespace thinmeta::ops {

namespace {
// Lines are handed to the stream in batches of about this many bytes.
constexpr size_t batch_bytes = 64 << 10;
}

dump_human_emitter::dump_human_emitter(std::ostream& out) : out_(out)
{
	text_.reserve(batch_bytes + 256);
}

dump_human_emitter::~dump_human_emitter()
{
	try {
		if (!text_.empty())
			out_.write(text_.data(), static_cast<std::streamsize>(text_.size()));
	} catch (...) {
		// A stream set to throw has already failed; the owner sees its state.
	}
}

void dump_human_emitter::put(uint64_t n)
{
	char buf[24];
	auto r = std::to_chars(buf, buf + sizeof(buf), n);
	text_.append(buf, r.ptr);
}

void dump_human_emitter::end_line()
{
	text_ += '\n';
	if (text_.size() >= batch_bytes) {
		out_.write(text_.data(), static_cast<std::streamsize>(text_.size()));
		text_.clear();
	}
}

void dump_human_emitter::begin_pool(const dump_pool_header& pool)
{
	// 0.9.0 prints an empty uuid, whatever the superblock holds.
	put("begin superblock: \"\", ");
	put(pool.time);
	put(", ");
	put(pool.transaction);
	put(", ");
	put(pool.flags);
	put(", ");
	put(pool.version);
	put(", ");
	put(pool.data_block_size);
	put(", ");
	put(pool.nr_data_blocks);
	end_line();
}

void dump_human_emitter::field_line(std::string_view label, uint64_t value)
{
	put(label);
	put(value);
	end_line();
}

void dump_human_emitter::begin_device(const dump_device_header& device)
{
	field_line("device: ", device.id);
	field_line("mapped_blocks: ", device.details.mapped_blocks);
	field_line("transaction: ", device.details.transaction_id);
	field_line("creation time: ", device.details.creation_time);
	field_line("snap time: ", device.details.snapshotted_time);
}

void dump_human_emitter::run(const mapping_run& r)
{
	if (r.length == 1) {
		put("    ");
		put(r.origin_begin);
		put(" -> ");
		put(r.data_begin);
	} else {
		put("    (");
		put(r.origin_begin);
		put("..");
		put(r.origin_begin + r.length - 1);
		put(") -> (");
		put(r.data_begin);
		put("..");
		put(r.data_begin + r.length - 1);
		put(")");
	}
	put(", ");
	put(r.time);
	end_line();
}

void dump_human_emitter::end_device()
{
	end_line();
}

void dump_human_emitter::end_pool()
{
	put("end superblock");
	end_line();
}

void dump_human_emitter::flush()
{
	out_.write(text_.data(), static_cast<std::streamsize>(text_.size()));
	text_.clear();
	out_.flush();
	check_dump_output(out_);
}

void dump_human_emitter::check_output() const
{
	check_dump_output(out_);
}

}
