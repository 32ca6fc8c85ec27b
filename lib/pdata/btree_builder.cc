#include "pdata/btree_builder.h"

#include <cstring>

#include "base/endian.h"
#include "base/text.h"
#include "pdata/btree_node.h"

namespace thinmeta::pdata {

namespace {

size_t values_offset(uint32_t max_entries)
{
	return node_header_size + 8 * size_t(max_entries);
}

}

btree_level::btree_level(bulk_block_writer& out, uint32_t flags, uint32_t value_size, value_references* refs,
                         node_sink& up)
    : out_(out), flags_(flags), value_size_(value_size), max_(max_entries_for(value_size)),
      min_(min_entries_for(max_entries_for(value_size))), refs_(refs), up_(up),
      prev_(std::make_unique<node_buffer>()), cur_(std::make_unique<node_buffer>()),
      scratch_(std::make_unique<node_buffer>())
{
	reset_node(*prev_);
	reset_node(*cur_);
}

void btree_level::reset_node(node_buffer& node)
{
	node_mut(node.data()).init(flags_, value_size_, 0);
}

void btree_level::check_order(uint64_t key) const
{
	if (last_key_ && key <= *last_key_)
		throw error(cat("internal error: b-tree keys out of order (", key, " after ", *last_key_, ")"));
}

void btree_level::append(uint64_t key, const uint8_t* value)
{
	if (cur_n_ == max_) {
		if (has_prev_)
			write_node(*prev_, max_);
		std::swap(prev_, cur_);
		has_prev_ = true;
		cur_n_ = 0;
	}
	uint8_t* node = cur_->data();
	store_le64(node + node_header_size + 8 * size_t(cur_n_), key);
	std::memcpy(node + values_offset(max_) + size_t(value_size_) * cur_n_, value, value_size_);
	++cur_n_;
	last_key_ = key;
}

void btree_level::push(uint64_t key, const uint8_t* value)
{
	check_order(key);
	unshare_small_held();
	append(key, value);
	if (held_)
		settle_held();
}

void btree_level::settle_held()
{
	if (pending() >= min_) {
		hand_up(*held_);
		held_.reset();
	}
}

void btree_level::absorb(const built_node& node)
{
	out_.read(node.block, scratch_->data());
	node_view view(scratch_->data());
	for (uint32_t i = 0; i < view.nr_entries(); ++i) {
		append(view.key(i), view.value(i));
		if (refs_)
			refs_->copied(view.value(i));
	}
}

void btree_level::unshare_small_held()
{
	if (held_ && held_->nr_entries < min_) {
		built_node small = *held_;
		held_.reset();
		absorb(small);
	}
}

void btree_level::push_node(const built_node& node)
{
	check_order(node.first_key);
	unshare_small_held();
	if (node.nr_entries < min_) {
		if (pending() == 0 && !held_ && nr_nodes_ == 0) {
			// Alone it may yet be a whole tree (a root may hold any count).
			held_ = node;
		} else {
			absorb(node);
			if (held_)
				settle_held();
		}
	} else if (held_) {
		if (pending() == 0) {
			hand_up(*held_);
			held_ = node;
		} else {
			// held, a few entries, then this node: copy this one so the
			// entries between them make a full enough leaf.
			absorb(node);
			settle_held();
		}
	} else if (pending() == 0) {
		held_ = node;
	} else if (pending() >= min_) {
		flush_pending();
		held_ = node;
	} else {
		absorb(node);
	}
	last_key_ = node.last_key;
}

void btree_level::flush_pending()
{
	if (has_prev_) {
		if (cur_n_ < min_) {
			// Even out the last two: move the tail of prev to the front of cur.
			uint32_t total = max_ + cur_n_;
			uint32_t left = total / 2;
			uint32_t moved = max_ - left;
			uint8_t* p = prev_->data();
			uint8_t* c = cur_->data();
			size_t pv = values_offset(max_);
			std::memmove(c + node_header_size + 8 * size_t(moved), c + node_header_size, 8 * size_t(cur_n_));
			std::memcpy(c + node_header_size, p + node_header_size + 8 * size_t(left), 8 * size_t(moved));
			std::memmove(c + pv + size_t(value_size_) * moved, c + pv, size_t(value_size_) * cur_n_);
			std::memcpy(c + pv, p + pv + size_t(value_size_) * left, size_t(value_size_) * moved);
			cur_n_ += moved;
			write_node(*prev_, left);
		} else {
			write_node(*prev_, max_);
		}
		has_prev_ = false;
	}
	if (cur_n_) {
		write_node(*cur_, cur_n_);
		cur_n_ = 0;
	}
}

void btree_level::finish()
{
	if (held_) {
		if (pending() == 0) {
			hand_up(*held_);
		} else {
			// Too few entries follow the held node to make a leaf of their
			// own: copy the held node and put them after its entries.
			node_buffer saved = *cur_;
			uint32_t saved_n = cur_n_;
			built_node held = *held_;
			reset_node(*cur_);
			cur_n_ = 0;
			last_key_.reset();
			absorb(held);
			node_view entries(saved.data());
			for (uint32_t i = 0; i < saved_n; ++i)
				append(entries.key(i), entries.value(i));
		}
		held_.reset();
	}
	flush_pending();
}

void btree_level::write_node(node_buffer& node, uint32_t n)
{
	uint8_t* b = node.data();
	size_t pv = values_offset(max_);
	// Slots past n may hold entries moved away when evening out.
	std::memset(b + node_header_size + 8 * size_t(n), 0, 8 * size_t(max_ - n));
	std::memset(b + pv + size_t(value_size_) * n, 0, size_t(value_size_) * (max_ - n));
	node_mut view(b);
	view.set_nr_entries(n);
	if (flags_ == internal_node)
		for (uint32_t i = 0; i < n; ++i)
			out_.inc(view.value64(i));
	built_node done;
	done.first_key = n ? view.key(0) : 0;
	done.last_key = n ? view.key(n - 1) : 0;
	done.nr_entries = n;
	done.block = out_.append(b, block_kind::btree_node);
	reset_node(node);
	hand_up(done);
}

void btree_level::hand_up(const built_node& node)
{
	++nr_nodes_;
	last_node_ = node;
	up_.add(node);
}

//----------------------------------------------------------------

void btree_builder::link::add(const built_node& node)
{
	uint8_t value[8];
	store_le64(value, node.block);
	builder.parent_of(level).push(node.first_key, value);
}

namespace {
template <typename T>
T& remember(std::vector<std::unique_ptr<T>>& list, std::unique_ptr<T> item)
{
	list.push_back(std::move(item));
	return *list.back();
}
}

btree_builder::btree_builder(bulk_block_writer& out, uint32_t value_size, value_references* refs)
    : out_(out), value_size_(value_size),
      leaves_(out, leaf_node, value_size, refs, remember(links_, std::make_unique<link>(*this, 0)))
{
}

btree_builder::~btree_builder() = default;

btree_level& btree_builder::parent_of(size_t level)
{
	if (internal_.size() == level) {
		link& up = remember(links_, std::make_unique<link>(*this, level + 1));
		internal_.push_back(std::make_unique<btree_level>(out_, internal_node, internal_value_size, nullptr, up));
	}
	return *internal_[level];
}

block_address btree_builder::finish()
{
	leaves_.finish();
	if (leaves_.nr_nodes() == 0)
		return write_empty_leaf(out_, value_size_);
	btree_level* level = &leaves_;
	for (size_t i = 0;; ++i) {
		if (level->nr_nodes() == 1)
			return level->last_node().block;
		level = internal_[i].get();
		level->finish();
	}
}

//----------------------------------------------------------------

leaf_run_builder::leaf_run_builder(bulk_block_writer& out, uint32_t value_size, value_references* refs)
    : level_(out, leaf_node, value_size, refs, *this)
{
}

std::vector<built_node> leaf_run_builder::finish()
{
	level_.finish();
	return std::move(leaves_);
}

block_address write_empty_leaf(bulk_block_writer& out, uint32_t value_size)
{
	std::array<uint8_t, block_size> node;
	node_mut(node.data()).init(leaf_node, value_size, 0);
	return out.append(node.data(), block_kind::btree_node);
}

}
