#include "io/block_cache.h"

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "base/text.h"

namespace thinmeta::io {

namespace {
constexpr size_t slab_blocks = 64;
constexpr size_t staging_blocks = 256;
}

block_cache::handle& block_cache::handle::operator=(handle&& other) noexcept
{
	if (this != &other) {
		release();
		cache_ = other.cache_;
		e_ = other.e_;
		other.e_ = nullptr;
	}
	return *this;
}

void block_cache::handle::release()
{
	if (e_) {
		cache_->unpin(e_);
		e_ = nullptr;
	}
}

block_cache::block_cache(block_store& store, size_t capacity)
    : store_(store), capacity_(std::max<size_t>(capacity, 16))
{
}

block_cache::~block_cache() = default;

void block_cache::check_address(block_address b) const
{
	if (b >= store_.nr_blocks())
		throw error(cat("block ", b, " is past the end of the metadata (", store_.nr_blocks(), " blocks)"));
}

block_cache::entry* block_cache::new_entry(block_address b)
{
	make_room();
	if (free_slots_.empty()) {
		slabs_.emplace_back(slab_blocks);
		for (size_t i = 0; i < slab_blocks; ++i)
			free_slots_.push_back(slabs_.back().block(slab_blocks - 1 - i));
	}
	entry* e;
	if (!free_entries_.empty()) {
		e = free_entries_.back();
		free_entries_.pop_back();
	} else {
		e = &entries_.emplace_back();
	}
	*e = entry{};
	e->where = b;
	e->data = free_slots_.back();
	free_slots_.pop_back();
	lru_.push_front(e);
	e->lru = lru_.begin();
	index_.emplace(b, e);
	return e;
}

void block_cache::touch(entry* e)
{
	if (e->lru != lru_.begin())
		lru_.splice(lru_.begin(), lru_, e->lru);
}

void block_cache::unpin(entry* e)
{
	--e->pins;
}

block_cache::entry* block_cache::lookup_or_load(block_address b, bool load)
{
	auto it = index_.find(b);
	if (it != index_.end()) {
		entry* e = it->second;
		touch(e);
		return e;
	}
	check_address(b);
	entry* e = new_entry(b);
	if (load) {
		try {
			store_.read_range(b, 1, e->data);
		} catch (...) {
			index_.erase(b);
			lru_.erase(e->lru);
			free_slots_.push_back(e->data);
			free_entries_.push_back(e);
			throw;
		}
	}
	return e;
}

block_cache::handle block_cache::read(block_address b, block_validator validate)
{
	entry* e = lookup_or_load(b, true);
	if (validate && !e->validated && !e->dirty) {
		std::string what = validate(e->data, b);
		if (!what.empty())
			throw error(cat("metadata block ", b, ": ", what));
		e->validated = true;
	}
	++e->pins;
	return handle(this, e);
}

block_cache::handle block_cache::write(block_address b, block_validator validate, block_preparer prepare)
{
	handle h = read(b, validate);
	h.e_->dirty = true;
	h.e_->prepare = prepare;
	return h;
}

block_cache::handle block_cache::write_zeroed(block_address b, block_preparer prepare)
{
	entry* e = lookup_or_load(b, false);
	std::memset(e->data, 0, block_size);
	e->dirty = true;
	e->validated = true;
	e->prepare = prepare;
	++e->pins;
	return handle(this, e);
}

size_t block_cache::nr_dirty() const
{
	size_t n = 0;
	for (auto& [b, e] : index_)
		n += e->dirty;
	return n;
}

void block_cache::make_room()
{
	if (index_.size() < capacity_)
		return;
	auto evict_clean = [&]() {
		size_t target = capacity_ - capacity_ / 4;
		for (auto it = lru_.end(); it != lru_.begin() && index_.size() > target;) {
			--it;
			entry* e = *it;
			if (e->pins || e->dirty)
				continue;
			it = lru_.erase(it);
			index_.erase(e->where);
			free_slots_.push_back(e->data);
			free_entries_.push_back(e);
		}
	};
	evict_clean();
	if (index_.size() < capacity_)
		return;
	// Too many dirty blocks: write the unpinned ones early. None of them
	// is reachable from the committed superblock, so this is safe.
	std::vector<entry*> dirty;
	for (entry* e : lru_)
		if (e->dirty && !e->pins && !held_back_.count(e->where))
			dirty.push_back(e);
	write_entries(dirty);
	evict_clean();
}

void block_cache::write_entries(std::vector<entry*>& dirty)
{
	std::sort(dirty.begin(), dirty.end(), [](const entry* a, const entry* b) { return a->where < b->where; });
	staging_.reserve(staging_blocks);
	size_t i = 0;
	while (i < dirty.size()) {
		size_t j = i;
		while (j < dirty.size() && j - i < staging_blocks &&
		       (j == i || dirty[j]->where == dirty[j - 1]->where + 1)) {
			entry* e = dirty[j];
			if (e->prepare)
				e->prepare(e->data, e->where);
			std::memcpy(staging_.block(j - i), e->data, block_size);
			++j;
		}
		store_.write_range(dirty[i]->where, j - i, staging_.data());
		for (size_t k = i; k < j; ++k) {
			dirty[k]->dirty = false;
			dirty[k]->validated = true;
		}
		i = j;
	}
}

void block_cache::flush()
{
	std::vector<entry*> dirty;
	for (auto& [b, e] : index_)
		if (e->dirty)
			dirty.push_back(e);
	write_entries(dirty);
	store_.flush();
}

void block_cache::drop_all()
{
	for (auto& [b, e] : index_)
		if (e->pins)
			throw error(cat("block cache: block ", b, " is still locked"));
	for (auto& [b, e] : index_) {
		free_slots_.push_back(e->data);
		free_entries_.push_back(e);
	}
	index_.clear();
	lru_.clear();
}

}
