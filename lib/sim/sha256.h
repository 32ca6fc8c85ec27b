// SHA-256 (FIPS 180-4), for the digests `thin_sim` prints for reads: the
// same hex string `sha256sum` prints for the same bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace thinmeta::sim {

class sha256 {
public:
	sha256();
	void update(const uint8_t* data, size_t length);
	// The digest of everything given so far; the object is spent afterwards.
	std::array<uint8_t, 32> finish();
	// finish() as 64 lower-case hex digits.
	std::string finish_hex();

private:
	void compress(const uint8_t* chunk);

	std::array<uint32_t, 8> state_;
	std::array<uint8_t, 64> pending_{};
	size_t pending_length_ = 0;
	uint64_t total_length_ = 0;
};

}
