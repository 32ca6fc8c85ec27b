// A block store held in memory, for tests and the simulator. It can be told
// to stop persisting after a number of block writes, which models a crash
// at any point of a commit: writes past the limit are silently dropped.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "io/block_store.h"

namespace thinmeta::io {

class memory_block_store final : public block_store {
public:
	explicit memory_block_store(uint64_t nr_blocks);

	uint64_t nr_blocks() const override { return nr_blocks_; }
	void read_range(block_address first, uint64_t count, uint8_t* out) const override;
	void write_range(block_address first, uint64_t count, const uint8_t* data) override;
	void flush() override { ++nr_flushes_; }

	// Block writes after the next `n` are dropped (a crash after n writes).
	void persist_only(uint64_t n) { writes_left_ = n; }
	void persist_all() { writes_left_ = std::numeric_limits<uint64_t>::max(); }

	uint64_t nr_block_writes() const { return nr_block_writes_; }
	uint64_t nr_flushes() const { return nr_flushes_; }
	const uint8_t* block(block_address b) const { return data_.data() + b * block_size; }
	uint8_t* block(block_address b) { return data_.data() + b * block_size; }
	const std::vector<uint8_t>& bytes() const { return data_; }
	// Grows the store (new blocks read as zeroes).
	void resize(uint64_t nr_blocks);

private:
	void check_range(block_address first, uint64_t count) const;

	uint64_t nr_blocks_;
	std::vector<uint8_t> data_;
	uint64_t writes_left_ = std::numeric_limits<uint64_t>::max();
	uint64_t nr_block_writes_ = 0;
	uint64_t nr_flushes_ = 0;
};

}
