#include "sim/sha256.h"

#include <algorithm>
#include <cstring>

namespace thinmeta::sim {

namespace {

constexpr uint32_t round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr std::array<uint32_t, 8> initial_state = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

constexpr uint32_t rotate_right(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

uint32_t load_be32(const uint8_t* p)
{
	return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}

sha256::sha256() : state_(initial_state) {}

void sha256::compress(const uint8_t* chunk)
{
	uint32_t w[64];
	for (int i = 0; i < 16; ++i)
		w[i] = load_be32(chunk + 4 * i);
	for (int i = 16; i < 64; ++i) {
		uint32_t s0 = rotate_right(w[i - 15], 7) ^ rotate_right(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = rotate_right(w[i - 2], 17) ^ rotate_right(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
	uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
	for (int i = 0; i < 64; ++i) {
		uint32_t sum1 = rotate_right(e, 6) ^ rotate_right(e, 11) ^ rotate_right(e, 25);
		uint32_t choose = (e & f) ^ (~e & g);
		uint32_t t1 = h + sum1 + choose + round_constants[i] + w[i];
		uint32_t sum0 = rotate_right(a, 2) ^ rotate_right(a, 13) ^ rotate_right(a, 22);
		uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
		uint32_t t2 = sum0 + majority;
		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	state_[0] += a;
	state_[1] += b;
	state_[2] += c;
	state_[3] += d;
	state_[4] += e;
	state_[5] += f;
	state_[6] += g;
	state_[7] += h;
}

void sha256::update(const uint8_t* data, size_t length)
{
	total_length_ += length;
	if (pending_length_) {
		size_t take = std::min(length, pending_.size() - pending_length_);
		std::memcpy(pending_.data() + pending_length_, data, take);
		pending_length_ += take;
		data += take;
		length -= take;
		if (pending_length_ < pending_.size())
			return;
		compress(pending_.data());
		pending_length_ = 0;
	}
	for (; length >= 64; data += 64, length -= 64)
		compress(data);
	std::memcpy(pending_.data(), data, length);
	pending_length_ = length;
}

std::array<uint8_t, 32> sha256::finish()
{
	uint64_t bits = total_length_ * 8;
	uint8_t pad[72] = {0x80};
	size_t pad_length = (pending_length_ < 56 ? 56 : 120) - pending_length_;
	for (int i = 0; i < 8; ++i)
		pad[pad_length + i] = uint8_t(bits >> (56 - 8 * i));
	update(pad, pad_length + 8);
	std::array<uint8_t, 32> digest;
	for (int i = 0; i < 8; ++i)
		for (int j = 0; j < 4; ++j)
			digest[4 * i + j] = uint8_t(state_[i] >> (24 - 8 * j));
	return digest;
}

std::string sha256::finish_hex()
{
	static constexpr char digits[] = "0123456789abcdef";
	std::string out;
	for (uint8_t byte : finish()) {
		out += digits[byte >> 4];
		out += digits[byte & 15];
	}
	return out;
}

}
