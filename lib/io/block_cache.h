// A write-back cache of 4 KiB metadata blocks over a block_store, as the
// kernel's block manager (dm-bufio) is for dm-thin: blocks are locked for
// reading or writing through handles that pin them, new blocks start zeroed,
// written blocks stay dirty until flush() writes them in ascending order in
// large runs. Memory is bounded: clean unpinned blocks are evicted, and when
// too many are dirty the oldest are written early (never a held-back block
// such as the superblock, which only flush() writes).
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "io/aligned_buffer.h"
#include "io/block.h"
#include "io/block_store.h"

namespace thinmeta::io {

// Checks a block read from the store; returns what is wrong, or "" if sound.
using block_validator = std::string (*)(const uint8_t* block, block_address where);
// Prepares a dirty block for writing (stamps its location, seals its checksum).
using block_preparer = void (*)(uint8_t* block, block_address where);

class block_cache {
	struct entry {
		block_address where = 0;
		uint8_t* data = nullptr;
		uint32_t pins = 0;
		bool dirty = false;
		bool validated = false;
		block_preparer prepare = nullptr;
		std::list<entry*>::iterator lru;
	};

public:
	// A locked block; the block stays in memory while a handle refers to it.
	class handle {
	public:
		handle() = default;
		handle(handle&& other) noexcept : cache_(other.cache_), e_(other.e_) { other.e_ = nullptr; }
		handle& operator=(handle&& other) noexcept;
		handle(const handle&) = delete;
		handle& operator=(const handle&) = delete;
		~handle() { release(); }

		explicit operator bool() const { return e_ != nullptr; }
		block_address location() const { return e_->where; }
		const uint8_t* data() const { return e_->data; }
		// Only for handles from write()/write_zeroed(); writing through a
		// read handle is a bug the cache does not detect.
		uint8_t* data_mut() { return e_->data; }
		void release();

	private:
		friend class block_cache;
		handle(block_cache* cache, entry* e) : cache_(cache), e_(e) {}
		block_cache* cache_ = nullptr;
		entry* e_ = nullptr;
	};

	// `capacity` is the number of blocks kept in memory (more while pinned).
	block_cache(block_store& store, size_t capacity);
	block_cache(const block_cache&) = delete;
	block_cache& operator=(const block_cache&) = delete;
	~block_cache();

	uint64_t nr_blocks() const { return store_.nr_blocks(); }
	block_store& store() { return store_; }

	// `validate` runs once, when the block comes from the store.
	handle read(block_address b, block_validator validate = nullptr);
	// Reads the block and marks it dirty; `prepare` runs on it before it is written.
	handle write(block_address b, block_validator validate, block_preparer prepare);
	// A dirty block of zeroes, not read from the store.
	handle write_zeroed(block_address b, block_preparer prepare);

	// A block only flush() writes, never an early write-back.
	void hold_back(block_address b) { held_back_.insert(b); }

	// Writes every dirty block (ascending, in runs) and flushes the store.
	void flush();
	// Forgets every cached block, dirty ones included (nothing may be pinned).
	void drop_all();

	size_t nr_cached() const { return index_.size(); }
	size_t nr_dirty() const;

private:
	entry* lookup_or_load(block_address b, bool load);
	entry* new_entry(block_address b);
	void touch(entry* e);
	void unpin(entry* e);
	void make_room();
	void write_entries(std::vector<entry*>& dirty);
	void check_address(block_address b) const;

	block_store& store_;
	size_t capacity_;
	std::unordered_map<block_address, entry*> index_;
	std::deque<entry> entries_;
	std::vector<entry*> free_entries_;
	std::deque<aligned_buffer> slabs_;
	std::vector<uint8_t*> free_slots_;
	std::list<entry*> lru_;  // front = most recently used
	std::unordered_set<block_address> held_back_;
	aligned_buffer staging_;
};

}
