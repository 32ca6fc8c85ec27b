#include "thin/metadata_reader.h"

#include <algorithm>

#include "base/endian.h"
#include "base/error.h"
#include "base/text.h"
#include "io/aligned_buffer.h"
#include "pdata/btree_walk.h"
#include "thin/block_time.h"

namespace thinmeta::thin {

namespace {

// Collects the leaf entries of a single-level tree.
template <typename Entry, typename Decode>
class collecting_visitor : public pdata::strict_btree_visitor {
public:
	collecting_visitor(std::string name, std::vector<Entry>& out, Decode decode)
	    : strict_btree_visitor(std::move(name)), out_(out), decode_(decode)
	{
	}
	bool visit(block_address, const pdata::node_view& n, const pdata::key_range&) override
	{
		if (n.is_leaf())
			for (uint32_t i = 0; i < n.nr_entries(); ++i)
				out_.push_back(decode_(n.key(i), n.value(i)));
		return true;
	}

private:
	std::vector<Entry>& out_;
	Decode decode_;
};

template <typename Entry, typename Decode>
std::vector<Entry> read_tree(const io::block_device& dev, block_address root, uint32_t value_size,
                             const std::string& name, Decode decode)
{
	std::vector<Entry> out;
	collecting_visitor<Entry, Decode> v(cat(dev.path(), ": ", name), out, decode);
	pdata::btree_walker(dev, value_size).walk(root, v);
	return out;
}

}

superblock read_superblock(const io::block_device& dev, block_address where)
{
	if (dev.nr_blocks() == 0)
		throw error(cat(dev.path(), ": too small to hold metadata (", dev.size_bytes(),
		                " bytes; the superblock alone is 4096)"));
	if (where >= dev.nr_blocks())
		throw error(cat(dev.path(), ": superblock location ", where, " is past the end of the metadata (",
		                dev.nr_blocks(), " blocks)"));
	io::aligned_buffer buf(1);
	dev.read_block(where, buf.data());
	std::string fault = check_superblock(buf.data(), where);
	if (!fault.empty())
		throw error(cat(dev.path(), ": superblock at block ", where, ": ", fault, superblock_fault_hint(buf.data(), where)));
	return superblock::decode(buf.data());
}

metadata_reader::metadata_reader(const read_request& request)
    : dev_(io::block_device::open(request.path, io::access::read_only,
                                  request.metadata_snap ? io::sharing::shared : io::sharing::exclusive))
{
	sb_ = read_superblock(dev_, superblock_location);
	if (request.metadata_snap) {
		block_address where = request.snap_location.value_or(sb_.metadata_snap);
		if (where == 0)
			throw error(cat(dev_.path(), ": there is no metadata snapshot (the superblock holds no root); "
			                             "reserve one with the pool message reserve_metadata_snap"));
		sb_ = read_superblock(dev_, where);
		sb_location_ = where;
	}
}

std::vector<thin_device> metadata_reader::mapping_roots() const
{
	return read_tree<thin_device>(dev_, sb_.data_mapping_root, mapping_value_size, "mapping tree (top level)",
	                              [](uint64_t k, const uint8_t* v) { return thin_device{k, {}, load_le64(v)}; });
}

std::vector<thin_device> metadata_reader::device_details() const
{
	return read_tree<thin_device>(dev_, sb_.device_details_root, device_details_size, "device details tree",
	                              [](uint64_t k, const uint8_t* v) {
		                              return thin_device{k, device_details::decode(v), 0};
	                              });
}

std::vector<thin_device> metadata_reader::devices() const
{
	auto details = device_details();
	auto tops = mapping_roots();

	size_t t = 0;
	for (auto& d : details) {
		while (t < tops.size() && tops[t].id < d.id)
			throw error(cat(dev_.path(), ": mappings present for device ", tops[t].id,
			                ", but it is not in the device details tree"));
		if (t == tops.size() || tops[t].id != d.id)
			throw error(cat(dev_.path(), ": device ", d.id,
			                " is in the device details tree, but has no mapping tree"));
		d.mapping_root = tops[t++].mapping_root;
	}
	if (t < tops.size())
		throw error(cat(dev_.path(), ": mappings present for device ", tops[t].id,
		                ", but it is not in the device details tree"));
	return details;
}

}
