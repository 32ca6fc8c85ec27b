#include "ops/restore_builder.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/endian.h"
#include "base/text.h"
#include "pdata/btree_builder.h"
#include "pdata/btree_node.h"
#include "pdata/bulk_block_writer.h"
#include "pdata/ref_count_batch.h"
#include "pdata/ref_counter.h"
#include "pdata/space_map_writer.h"
#include "thin/block_time.h"
#include "thin/device_details.h"
#include "thin/superblock.h"

namespace thinmeta::ops {

namespace {

// block_time keeps 40 bits of data block number.
constexpr uint64_t max_nr_data_blocks = thin::max_data_block + 1;
constexpr uint32_t max_kernel_dev_id = (1u << 24) - 1;
constexpr uint32_t min_kernel_block_size = 128;
constexpr uint32_t max_kernel_block_size = 2097152;

// One bit per data block: whether the first holder of the block (the device
// or def that mapped it first) would see it as shared, that is whether its
// snap_time is later than the mapping's time (the kernel's test).
class claim_flags {
public:
	explicit claim_flags(uint64_t nr_blocks) : chunks_((nr_blocks >> chunk_bits) + 1) {}

	void set(uint64_t b, bool v)
	{
		auto& chunk = chunks_[b >> chunk_bits];
		if (!chunk) {
			if (!v)
				return;
			chunk = std::make_unique<uint64_t[]>(words_per_chunk);
		}
		uint64_t& word = chunk[(b & (chunk_size - 1)) >> 6];
		uint64_t bit = uint64_t(1) << (b & 63);
		word = v ? (word | bit) : (word & ~bit);
	}

	bool get(uint64_t b) const
	{
		const auto& chunk = chunks_[b >> chunk_bits];
		return chunk && (chunk[(b & (chunk_size - 1)) >> 6] >> (b & 63)) & 1;
	}

private:
	static constexpr unsigned chunk_bits = 20;
	static constexpr uint64_t chunk_size = uint64_t(1) << chunk_bits;
	static constexpr uint64_t words_per_chunk = chunk_size / 64;
	std::vector<std::unique_ptr<uint64_t[]>> chunks_;
};

// A mapping copied out of a shared leaf into a device's own leaf is one more
// reference to its data block.
class data_references final : public pdata::value_references {
public:
	explicit data_references(pdata::ref_counter& counts) : counts_(counts) {}
	void copied(const uint8_t* value) override { counts_.inc(thin::block_time::unpack(load_le64(value)).block); }

private:
	pdata::ref_counter& counts_;
};

struct def_record {
	std::vector<pdata::built_node> leaves;
	uint64_t nr_entries = 0;
	uint32_t max_time = 0;
	std::vector<def_record*> nested;  // defs this one refers to
	uint64_t nr_device_refs = 0;
	bool first_sees_shared = false;
	uint64_t first_device = 0;
	bool referenced = false;
};

struct device_record {
	uint64_t id = 0;
	block_address root = 0;
	thin::device_details details;
};

enum class section { none, def, device };

uint64_t needed_blocks(uint64_t used_without_bitmaps)
{
	uint64_t n = used_without_bitmaps;
	for (;;) {
		uint64_t next = used_without_bitmaps + pdata::nr_bitmaps_for(n);
		if (next == n)
			return n;
		n = next;
	}
}

std::string describe_blocks(uint64_t nr_blocks)
{
	uint64_t bytes = nr_blocks * block_size;
	return cat(nr_blocks, " blocks (", bytes, " bytes, ", (bytes + (1 << 20) - 1) >> 20, " MiB)");
}

}

struct restore_builder::state {
	state(io::block_device& d, uint64_t n, const restore_overrides& o, restore_warnings& w)
	    : dev(d), layout(pdata::plan_metadata_space_map(std::min(n, pdata::max_metadata_blocks))), overrides(o),
	      warnings(w)
	{
	}

	io::block_device& dev;
	pdata::metadata_sm_layout layout;
	restore_overrides overrides;
	restore_warnings& warnings;

	std::unique_ptr<pdata::bulk_block_writer> out;
	std::optional<thin::superblock> sb;
	bool done = false;
	std::unique_ptr<pdata::ref_counter> data;
	std::unique_ptr<pdata::ref_count_batch> settled;  // when overrides.sharing_settled
	std::unique_ptr<claim_flags> claims;
	std::unique_ptr<data_references> copies;

	std::unordered_map<std::string, def_record> defs;
	std::vector<std::string> def_order;
	std::vector<device_record> devices;
	std::unordered_set<uint64_t> device_ids;

	section in = section::none;
	std::string def_name;
	def_record def;
	std::unique_ptr<pdata::leaf_run_builder> def_leaves;
	device_event device;
	std::unique_ptr<pdata::btree_builder> device_tree;
	uint64_t nr_mapped = 0;
	std::optional<uint64_t> last_key;

	std::string where() const
	{
		return in == section::device ? cat("device ", device.dev_id) : cat("def \"", def_name, "\"");
	}
	void claim(uint64_t data_block, uint32_t time);
	void device_uses(def_record& d);
	void release_unused_defs();
	void write_top_level_trees(thin::superblock& sbk);
};

void restore_builder::state::claim(uint64_t b, uint32_t time)
{
	if (settled) {
		settled->inc(b);
		return;
	}
	data->inc(b);
	// Defs are shared by construction; the devices using them are checked
	// when they refer to them.
	bool sees_shared = in == section::def || device.snap_time > time;
	if (data->get(b) == 1) {
		claims->set(b, sees_shared);
		return;
	}
	if (sees_shared && claims->get(b))
		return;
	if (!sees_shared)
		throw bad_input(cat(where(), " maps data block ", b, " (time ", time,
		                    "), which is mapped elsewhere too, but its snap_time ", device.snap_time,
		                    " is not later than ", time, ": the kernel would not see the block as shared and would "
		                    "write to it in place. Only a device and its snapshots may share data blocks"));
	throw bad_input(cat(where(), " maps data block ", b, " (time ", time,
	                    "), which an earlier device maps as its own (that device's snap_time is not later than ",
	                    time, "): the kernel would write to it in place. Only a device and its snapshots may "
	                          "share data blocks"));
}

void restore_builder::state::device_uses(def_record& d)
{
	d.referenced = true;
	bool sees_shared = d.nr_entries == 0 || device.snap_time > d.max_time;
	if (d.nr_device_refs++ == 0) {
		d.first_sees_shared = sees_shared;
		d.first_device = device.dev_id;
	} else if (!sees_shared || !d.first_sees_shared) {
		uint64_t culprit = sees_shared ? d.first_device : device.dev_id;
		throw bad_input(cat("devices ", d.first_device, " and ", device.dev_id,
		                    " share leaves, but device ", culprit,
		                    " has a snap_time not later than the newest mapping in them (time ", d.max_time,
		                    "): the kernel would write to shared blocks in place. Only a device and its "
		                    "snapshots may share leaves"));
	}
	for (def_record* inner : d.nested)
		device_uses(*inner);
}

restore_builder::restore_builder(io::block_device& out, uint64_t nr_metadata_blocks,
                                 const restore_overrides& overrides, restore_warnings& warnings)
    : s_(std::make_unique<state>(out, nr_metadata_blocks, overrides, warnings))
{
}

restore_builder::~restore_builder() = default;

bool restore_builder::complete() const
{
	return s_->done;
}

uint64_t restore_builder::nr_blocks_used() const
{
	return s_->out ? s_->out->nr_used() : 0;
}

void restore_builder::begin_superblock(const superblock_event& e)
{
	if (s_->sb)
		throw bad_input("a second superblock");
	thin::superblock sb;
	if (e.uuid.size() > sb.uuid.size())
		throw bad_input(cat("the uuid \"", e.uuid, "\" is longer than ", sb.uuid.size(), " bytes"));
	std::copy(e.uuid.begin(), e.uuid.end(), sb.uuid.begin());
	if (e.flags & ~thin::needs_check_flag)
		throw bad_input(cat("unknown superblock flags ", e.flags, " (only 1, needs_check, is defined)"));
	if (e.version && *e.version != 1 && *e.version != 2)
		throw bad_input(cat("unknown metadata version ", *e.version, " (1 and 2 are known; 2 is written)"));
	sb.flags = e.flags;
	sb.time = e.time;
	sb.trans_id = s_->overrides.transaction_id.value_or(e.transaction);
	sb.data_block_size = s_->overrides.data_block_size.value_or(e.data_block_size);
	uint64_t nr_data = s_->overrides.nr_data_blocks.value_or(e.nr_data_blocks);
	if (sb.data_block_size == 0)
		throw bad_input("the data block size is 0");
	if (sb.data_block_size % min_kernel_block_size || sb.data_block_size > max_kernel_block_size)
		s_->warnings.warning(cat("data block size ", sb.data_block_size,
		                         " sectors: the kernel accepts only multiples of 128 sectors up to 2097152"));
	if (nr_data > max_nr_data_blocks)
		throw bad_input(cat("nr_data_blocks ", nr_data, " is more than a mapping can address (", max_nr_data_blocks,
		                    ")"));
	if (pdata::nr_bitmaps_for(nr_data) > pdata::max_metadata_blocks)
		throw bad_input(cat("nr_data_blocks ", nr_data, " needs ", pdata::nr_bitmaps_for(nr_data),
		                    " space map bitmaps, more blocks than the largest metadata device holds (",
		                    pdata::max_metadata_blocks, ")"));
	if (e.metadata_snap && *e.metadata_snap)
		s_->warnings.warning(cat("metadata_snap ", *e.metadata_snap,
		                         " ignored: a dump does not hold the metadata snapshot, so none is restored"));
	sb.metadata_nr_blocks = s_->layout.nr_blocks;
	s_->sb = sb;

	s_->out = std::make_unique<pdata::bulk_block_writer>(s_->dev, s_->layout.nr_blocks, s_->layout.first_free());
	s_->data = std::make_unique<pdata::ref_counter>(nr_data);
	if (s_->overrides.sharing_settled)
		s_->settled = std::make_unique<pdata::ref_count_batch>(*s_->data);
	else
		s_->claims = std::make_unique<claim_flags>(nr_data);
	s_->copies = std::make_unique<data_references>(*s_->data);
}

void restore_builder::begin_def(std::string_view name)
{
	if (!s_->sb || s_->done)
		throw bad_input("a def outside the superblock");
	if (s_->in != section::none)
		throw bad_input(cat("a def inside ", s_->where()));
	std::string key(name);
	if (s_->defs.count(key))
		throw bad_input(cat("def \"", key, "\" is defined twice"));
	s_->in = section::def;
	s_->def_name = key;
	s_->def = def_record{};
	s_->def_leaves = std::make_unique<pdata::leaf_run_builder>(*s_->out, thin::mapping_value_size, s_->copies.get());
	s_->nr_mapped = 0;
	s_->last_key.reset();
}

void restore_builder::end_def()
{
	if (s_->in != section::def)
		throw bad_input("the end of a def that was not begun");
	s_->def.leaves = s_->def_leaves->finish();
	s_->def.nr_entries = s_->nr_mapped;
	s_->def_leaves.reset();
	s_->defs.emplace(s_->def_name, std::move(s_->def));
	s_->def_order.push_back(s_->def_name);
	s_->in = section::none;
}

void restore_builder::begin_device(const device_event& dev)
{
	if (!s_->sb || s_->done)
		throw bad_input("a device outside the superblock");
	if (s_->in != section::none)
		throw bad_input(cat("a device inside ", s_->where()));
	if (!s_->device_ids.insert(dev.dev_id).second)
		throw bad_input(cat("device ", dev.dev_id, " appears twice"));
	if (dev.dev_id > max_kernel_dev_id)
		s_->warnings.warning(cat("device ", dev.dev_id, ": the kernel cannot activate ids above ", max_kernel_dev_id));
	s_->in = section::device;
	s_->device = dev;
	s_->device_tree = std::make_unique<pdata::btree_builder>(*s_->out, thin::mapping_value_size, s_->copies.get());
	s_->nr_mapped = 0;
	s_->last_key.reset();
}

void restore_builder::end_device()
{
	if (s_->in != section::device)
		throw bad_input("the end of a device that was not begun");
	device_record rec;
	rec.id = s_->device.dev_id;
	rec.root = s_->device_tree->finish();
	s_->device_tree.reset();
	rec.details.mapped_blocks = s_->nr_mapped;
	rec.details.transaction_id = s_->device.transaction;
	rec.details.creation_time = s_->device.creation_time;
	rec.details.snapshotted_time = s_->device.snap_time;
	if (s_->device.mapped_blocks && *s_->device.mapped_blocks != s_->nr_mapped)
		s_->warnings.warning(cat("device ", rec.id, ": mapped_blocks says ", *s_->device.mapped_blocks,
		                         " but the device has ", s_->nr_mapped, " mappings; ", s_->nr_mapped,
		                         " is written"));
	s_->devices.push_back(rec);
	s_->in = section::none;
}

void restore_builder::mapping(const mapping_event& m)
{
	state& s = *s_;
	if (s.in == section::none)
		throw bad_input("a mapping outside any device or def");
	if (m.length == 0)
		throw bad_input(cat(s.where(), ": a mapping of length 0 at virtual block ", m.origin_begin));
	if (m.length - 1 > std::numeric_limits<uint64_t>::max() - m.origin_begin)
		throw bad_input(cat(s.where(), ": virtual blocks from ", m.origin_begin, " for ", m.length,
		                    " blocks pass the largest block number"));
	if (s.last_key && m.origin_begin <= *s.last_key) {
		if (m.origin_begin == *s.last_key)
			throw bad_input(cat(s.where(), ": virtual block ", m.origin_begin, " is mapped twice"));
		throw bad_input(cat(s.where(), ": the mapping of virtual block ", m.origin_begin,
		                    " follows that of virtual block ", *s.last_key,
		                    ": mappings must come in ascending order of virtual block, each block once"));
	}
	if (m.time > thin::max_mapping_time)
		throw bad_input(cat(s.where(), ": time ", m.time, " of virtual block ", m.origin_begin,
		                    " does not fit in the 24 bits a mapping keeps"));
	uint64_t nr_data = s.data->size();
	if (m.data_begin >= nr_data || m.length > nr_data - m.data_begin)
		throw bad_input(cat(s.where(), ": data block ", std::max(m.data_begin, nr_data),
		                    " is past the end of the data device (nr_data_blocks ", nr_data, ")"));

	uint8_t value[8];
	for (uint64_t i = 0; i < m.length; ++i) {
		uint64_t data_block = m.data_begin + i;
		store_le64(value, thin::block_time{data_block, m.time}.pack());
		if (s.in == section::device)
			s.device_tree->push(m.origin_begin + i, value);
		else
			s.def_leaves->push(m.origin_begin + i, value);
		s.claim(data_block, m.time);
	}
	s.nr_mapped += m.length;
	s.last_key = m.origin_begin + m.length - 1;
	if (s.in == section::def)
		s.def.max_time = std::max(s.def.max_time, m.time);
}

void restore_builder::ref(std::string_view name)
{
	state& s = *s_;
	if (s.in == section::none)
		throw bad_input(cat("a ref to \"", name, "\" outside any device or def"));
	auto it = s.defs.find(std::string(name));
	if (it == s.defs.end())
		throw bad_input(cat(s.where(), ": ref to \"", name, "\", which no def before it defines"));
	def_record& d = it->second;
	if (!d.leaves.empty()) {
		if (s.last_key && d.leaves.front().first_key <= *s.last_key)
			throw bad_input(cat(s.where(), ": the mappings of \"", name, "\" start at virtual block ",
			                    d.leaves.front().first_key, ", not after virtual block ", *s.last_key,
			                    ": mappings must come in ascending order of virtual block, each block once"));
		for (const auto& leaf : d.leaves) {
			if (s.in == section::device)
				s.device_tree->push_leaf(leaf);
			else
				s.def_leaves->push_leaf(leaf);
		}
		s.last_key = d.leaves.back().last_key;
	}
	s.nr_mapped += d.nr_entries;
	if (s.in == section::device) {
		s.device_uses(d);
	} else {
		d.referenced = true;
		s.def.nested.push_back(&d);
		s.def.max_time = std::max(s.def.max_time, d.max_time);
	}
}

void restore_builder::state::write_top_level_trees(thin::superblock& sbk)
{
	std::sort(devices.begin(), devices.end(),
	          [](const device_record& a, const device_record& b) { return a.id < b.id; });
	pdata::btree_builder details(*out, thin::device_details_size);
	pdata::btree_builder top(*out, thin::mapping_value_size);
	for (const auto& d : devices) {
		uint8_t value[thin::device_details_size];
		d.details.encode(value);
		details.push(d.id, value);
		uint8_t root[8];
		store_le64(root, d.root);
		top.push(d.id, root);
		out->inc(d.root);
	}
	sbk.device_details_root = details.finish();
	out->inc(sbk.device_details_root);
	sbk.data_mapping_root = top.finish();
	out->inc(sbk.data_mapping_root);
}

// Leaves of defs that no tree ended up using (never referenced, or copied
// wherever they were) give back the data references their mappings took.
void restore_builder::state::release_unused_defs()
{
	std::array<uint8_t, block_size> raw;
	std::unordered_set<block_address> released;  // a def's leaves may be another's too
	for (const auto& name : def_order) {
		def_record& d = defs.at(name);
		if (!d.referenced)
			warnings.warning(cat("def \"", name, "\" is never referenced"));
		for (const auto& leaf : d.leaves) {
			if (out->count(leaf.block) || !released.insert(leaf.block).second)
				continue;
			out->read(leaf.block, raw.data());
			pdata::node_view node(raw.data());
			for (uint32_t i = 0; i < node.nr_entries(); ++i)
				data->dec(thin::block_time::unpack(node.value64(i)).block);
		}
	}
}

void restore_builder::end_superblock()
{
	state& s = *s_;
	if (!s.sb || s.done)
		throw bad_input("the end of a superblock that was not begun");
	if (s.in != section::none)
		throw bad_input(cat("the superblock ends inside ", s.where()));
	thin::superblock& sb = *s.sb;
	s.write_top_level_trees(sb);
	if (s.settled)
		s.settled->apply_all();
	s.release_unused_defs();
	sb.data_sm = pdata::write_data_space_map(*s.out, *s.data);
	sb.metadata_sm = pdata::write_metadata_space_map(*s.out, s.layout);

	if (s.out->overflowed()) {
		uint64_t needed = needed_blocks(s.out->nr_used() - s.layout.nr_bitmaps());
		if (needed > pdata::max_metadata_blocks)
			throw pdata::output_too_small(cat("the metadata needs ", describe_blocks(needed),
			                                  ", more than the largest metadata device holds (",
			                                  describe_blocks(pdata::max_metadata_blocks), ")"));
		throw pdata::output_too_small(cat(s.dev.path(), " is too small: the metadata needs ",
		                                  describe_blocks(needed), " but it has ",
		                                  describe_blocks(s.layout.nr_blocks)));
	}
	s.out->flush();
	io::aligned_buffer block(1);
	sb.encode(block.data());
	s.dev.write_block(thin::superblock_location, block.data());
	s.dev.flush();
	s.done = true;
}

}
