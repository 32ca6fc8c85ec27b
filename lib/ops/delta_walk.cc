#include "ops/delta_walk.h"

#include <algorithm>
#include <deque>
#include <vector>

#include "base/error.h"
#include "base/text.h"
#include "io/aligned_buffer.h"
#include "pdata/btree_node.h"
#include "pdata/btree_walk.h"
#include "pdata/node_check.h"
#include "thin/block_time.h"
#include "thin/mapping_node_check.h"

namespace thinmeta::ops {

namespace {

constexpr uint32_t unread = UINT32_MAX;
// Deeper than any tree of 2^64 keys can be: a longer path is a cycle.
constexpr uint32_t max_height = 64;

// One tree's position in the walk: the path from the root to the next
// thing to report, which is a leaf entry or a whole subtree not yet read.
class tree_cursor {
public:
	enum class head_kind { end, entry, subtree };
	struct head {
		head_kind kind = head_kind::end;
		uint64_t key = 0;         // entry: virtual block
		uint64_t data = 0;        // entry: data block
		block_address block = 0;  // subtree: its root
		pdata::key_range keys;    // subtree: bounds from its parent
		uint32_t height = 0;      // subtree: 0 for a leaf
	};

	tree_cursor(const io::block_device& dev, const std::string& name) : dev_(dev), name_(name), root_(1) {}

	void start(block_address root);
	head peek();
	// Moves past the head (an entry, or a subtree not expanded).
	void advance();
	// Reads the head subtree's root and moves into it. Children the head's
	// parent has not read yet are read in one sorted batch, except those in
	// `likely_shared` (sorted), which are left until they are needed.
	void expand(const std::vector<block_address>& likely_shared);
	bool head_needs_read() const;
	// The children of the innermost internal node not yet passed, sorted.
	void remaining_children(std::vector<block_address>& out) const;
	uint32_t top_height() const { return depth_ ? frames_[depth_ - 1].height : 0; }
	uint64_t entries_read() const { return entries_; }

	// The innermost node when it is a leaf with entries left: its view, the
	// next entry and the end. merged_up_to() moves past entries taken.
	bool in_leaf() const { return depth_ && frames_[depth_ - 1].height == 0; }
	pdata::node_view leaf() const { return pdata::node_view(frames_[depth_ - 1].node); }
	uint32_t leaf_next() const { return frames_[depth_ - 1].next; }
	uint32_t leaf_end() const { return frames_[depth_ - 1].nr; }
	void merged_up_to(uint32_t next)
	{
		frame& f = frames_[depth_ - 1];
		entries_ += next - f.next;
		f.next = next;
	}

private:
	struct frame {
		io::aligned_buffer children;  // internal nodes: children read so far
		std::vector<uint32_t> slot;   // child index -> slot in children, or unread
		uint32_t nr_read = 0;
		const uint8_t* node = nullptr;
		block_address where = 0;
		pdata::key_range keys;
		uint32_t height = 0;
		uint32_t next = 0;
		uint32_t nr = 0;
	};

	void push(const uint8_t* node, block_address where, const pdata::key_range& keys, uint32_t height);
	void read_children(frame& f, const std::vector<block_address>& likely_shared);
	void check(const uint8_t* block, block_address where, const pdata::key_range& keys, uint32_t height) const;
	[[noreturn]] void damaged(block_address b, const pdata::key_range& keys, const std::string& what) const;

	const io::block_device& dev_;
	const std::string& name_;
	io::aligned_buffer root_;
	std::deque<frame> frames_;  // a deque: growing it keeps outer frames in place
	size_t depth_ = 0;
	uint64_t entries_ = 0;
};

void tree_cursor::damaged(block_address b, const pdata::key_range& keys, const std::string& what) const
{
	throw error(cat(dev_.path(), ": mapping tree of ", name_, ": block ", b, " (keys ", keys.describe(), "): ", what));
}

void tree_cursor::check(const uint8_t* block, block_address where, const pdata::key_range& keys, uint32_t height) const
{
	std::string fault = thin::check_mapping_node(block, where, height, keys);
	if (!fault.empty())
		damaged(where, keys, fault);
}

void tree_cursor::start(block_address root)
{
	if (root >= dev_.nr_blocks())
		damaged(root, {}, cat("block ", root, " is past the end of the metadata (", dev_.nr_blocks(), " blocks)"));
	dev_.read_block(root, root_.data());
	// The height is the length of the leftmost path.
	uint32_t height = 0;
	io::aligned_buffer probe(1);
	const uint8_t* n = root_.data();
	block_address where = root;
	for (;;) {
		std::string fault = pdata::check_node(n, where, thin::mapping_value_size);
		if (!fault.empty())
			damaged(where, {}, fault);
		pdata::node_view v(n);
		if (!v.is_internal())
			break;
		if (++height > max_height)
			damaged(root, {}, "the tree is too deep: it has a cycle");
		where = v.child(0);
		if (where >= dev_.nr_blocks())
			damaged(where, {}, cat("block ", where, " is past the end of the metadata (", dev_.nr_blocks(), " blocks)"));
		dev_.read_block(where, probe.data());
		n = probe.data();
	}
	check(root_.data(), root, {}, height);
	depth_ = 0;
	push(root_.data(), root, {}, height);
}

void tree_cursor::push(const uint8_t* node, block_address where, const pdata::key_range& keys, uint32_t height)
{
	if (frames_.size() == depth_)
		frames_.emplace_back();
	frame& f = frames_[depth_++];
	pdata::node_view n(node);
	f.node = node;
	f.where = where;
	f.keys = keys;
	f.height = height;
	f.next = 0;
	f.nr = n.nr_entries();
	f.nr_read = 0;
	if (height > 0) {
		f.children.reserve(f.nr);
		f.slot.assign(f.nr, unread);
	}
}

tree_cursor::head tree_cursor::peek()
{
	while (depth_ && frames_[depth_ - 1].next == frames_[depth_ - 1].nr) {
		--depth_;
		if (depth_)
			++frames_[depth_ - 1].next;
	}
	head h;
	if (!depth_)
		return h;
	const frame& f = frames_[depth_ - 1];
	pdata::node_view n(f.node);
	if (f.height == 0) {
		h.kind = head_kind::entry;
		h.key = n.key(f.next);
		h.data = thin::block_time::unpack(n.value64(f.next)).block;
		return h;
	}
	h.kind = head_kind::subtree;
	h.block = n.child(f.next);
	h.keys = pdata::child_key_range(n, f.next, f.keys);
	h.height = f.height - 1;
	return h;
}

void tree_cursor::advance()
{
	frame& f = frames_[depth_ - 1];
	if (f.height == 0)
		++entries_;
	++f.next;
}

bool tree_cursor::head_needs_read() const
{
	const frame& f = frames_[depth_ - 1];
	return f.height > 0 && f.slot[f.next] == unread;
}

void tree_cursor::remaining_children(std::vector<block_address>& out) const
{
	out.clear();
	if (!depth_ || frames_[depth_ - 1].height == 0)
		return;
	const frame& f = frames_[depth_ - 1];
	pdata::node_view n(f.node);
	for (uint32_t i = f.next; i < f.nr; ++i)
		out.push_back(n.child(i));
	std::sort(out.begin(), out.end());
}

void tree_cursor::read_children(frame& f, const std::vector<block_address>& likely_shared)
{
	pdata::node_view n(f.node);
	struct wanted {
		block_address block;
		uint32_t index;
	};
	std::vector<wanted> batch;
	for (uint32_t i = f.next; i < f.nr; ++i) {
		block_address c = n.child(i);
		if (f.slot[i] != unread || c >= dev_.nr_blocks())
			continue;
		if (i != f.next && std::binary_search(likely_shared.begin(), likely_shared.end(), c))
			continue;
		batch.push_back({c, i});
	}
	std::sort(batch.begin(), batch.end(), [](const wanted& a, const wanted& b) { return a.block < b.block; });
	std::vector<block_address> blocks;
	for (const auto& w : batch) {
		f.slot[w.index] = f.nr_read + static_cast<uint32_t>(blocks.size());
		blocks.push_back(w.block);
	}
	dev_.read_blocks(blocks, f.children.block(f.nr_read));
	f.nr_read += static_cast<uint32_t>(blocks.size());
}

void tree_cursor::expand(const std::vector<block_address>& likely_shared)
{
	frame& f = frames_[depth_ - 1];
	pdata::node_view n(f.node);
	block_address c = n.child(f.next);
	pdata::key_range keys = pdata::child_key_range(n, f.next, f.keys);
	if (c >= dev_.nr_blocks())
		damaged(c, keys, cat("block ", c, " is past the end of the metadata (", dev_.nr_blocks(), " blocks)"));
	if (f.slot[f.next] == unread)
		read_children(f, likely_shared);
	const uint8_t* block = f.children.block(f.slot[f.next]);
	check(block, c, keys, f.height - 1);
	push(block, c, keys, f.height - 1);
}

bool wholly_before(const pdata::key_range& a, const pdata::key_range& b)
{
	return a.end && *a.end <= b.begin;
}

uint64_t data_of(const pdata::node_view& n, uint32_t i)
{
	return thin::block_time::unpack(n.value64(i)).block;
}

// Both cursors stand in leaves: merges their entries in one tight loop
// until either leaf runs out (most of the work when little is shared).
void merge_leaves(tree_cursor& L, tree_cursor& R, delta_sink& sink)
{
	pdata::node_view ln = L.leaf(), rn = R.leaf();
	uint32_t i = L.leaf_next(), j = R.leaf_next();
	const uint32_t ie = L.leaf_end(), je = R.leaf_end();
	while (i < ie && j < je) {
		uint64_t kl = ln.key(i), kr = rn.key(j);
		if (kl < kr) {
			sink.mapping(delta_kind::left_only, kl, data_of(ln, i++), 0);
		} else if (kr < kl) {
			sink.mapping(delta_kind::right_only, kr, 0, data_of(rn, j++));
		} else {
			uint64_t dl = data_of(ln, i++), dr = data_of(rn, j++);
			sink.mapping(dl == dr ? delta_kind::same : delta_kind::different, kl, dl, dr);
		}
	}
	L.merged_up_to(i);
	R.merged_up_to(j);
}

pdata::key_range intersect(const pdata::key_range& a, const pdata::key_range& b)
{
	pdata::key_range r{std::max(a.begin, b.begin), a.end};
	if (b.end && (!r.end || *b.end < *r.end))
		r.end = b.end;
	return r;
}

}

delta_walk_counts walk_delta(const io::block_device& dev, const delta_tree& left, const delta_tree& right,
                             delta_sink& sink)
{
	using kind = tree_cursor::head_kind;
	tree_cursor L(dev, left.name), R(dev, right.name);
	L.start(left.root);
	if (left.root == right.root) {
		// One tree twice (a device with itself, a snapshot never written).
		sink.shared({left.root, {}, L.top_height()});
		return {};
	}
	R.start(right.root);

	// A subtree's children that the other tree also holds at the same height
	// are likely shared: leave them unread until they prove not to be.
	std::vector<block_address> hint_l, hint_r;
	auto hint_for = [](tree_cursor& side, tree_cursor& other, std::vector<block_address>& hint) {
		hint.clear();
		if (side.head_needs_read() && other.top_height() == side.top_height())
			other.remaining_children(hint);
	};
	auto expand_one = [&](tree_cursor& side, tree_cursor& other) {
		hint_for(side, other, hint_l);
		side.expand(hint_l);
	};

	for (;;) {
		auto l = L.peek();
		auto r = R.peek();
		if (l.kind == kind::end && r.kind == kind::end)
			break;

		if (l.kind == kind::subtree && r.kind == kind::subtree) {
			if (l.block == r.block) {
				sink.shared({l.block, intersect(l.keys, r.keys), l.height});
				L.advance();
				R.advance();
			} else if (wholly_before(l.keys, r.keys)) {
				expand_one(L, R);
			} else if (wholly_before(r.keys, l.keys)) {
				expand_one(R, L);
			} else if (l.height > r.height) {
				expand_one(L, R);
			} else if (r.height > l.height) {
				expand_one(R, L);
			} else {
				// Both hints are taken before either side moves.
				hint_for(L, R, hint_l);
				hint_for(R, L, hint_r);
				L.expand(hint_l);
				R.expand(hint_r);
			}
			continue;
		}
		if (l.kind == kind::subtree) {
			if (r.kind == kind::entry && r.key < l.keys.begin) {
				sink.mapping(delta_kind::right_only, r.key, 0, r.data);
				R.advance();
			} else {
				expand_one(L, R);
			}
			continue;
		}
		if (r.kind == kind::subtree) {
			if (l.kind == kind::entry && l.key < r.keys.begin) {
				sink.mapping(delta_kind::left_only, l.key, l.data, 0);
				L.advance();
			} else {
				expand_one(R, L);
			}
			continue;
		}

		if (l.kind == kind::entry && r.kind == kind::entry) {
			merge_leaves(L, R, sink);
			continue;
		}
		if (r.kind == kind::end) {
			sink.mapping(delta_kind::left_only, l.key, l.data, 0);
			L.advance();
		} else {
			sink.mapping(delta_kind::right_only, r.key, 0, r.data);
			R.advance();
		}
	}
	return {L.entries_read(), R.entries_read()};
}

}
