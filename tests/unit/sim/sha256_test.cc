#include <catch2/catch.hpp>

#include <string>

#include "sim/sha256.h"

using thinmeta::sim::sha256;

namespace {

std::string digest(const std::string& text)
{
	sha256 h;
	h.update(reinterpret_cast<const uint8_t*>(text.data()), text.size());
	return h.finish_hex();
}

}

TEST_CASE("sha256 gives the FIPS 180-4 test digests")
{
	CHECK(digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	CHECK(digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
	      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("sha256 takes its input in pieces of any size")
{
	std::string million(1000000, 'a');
	for (size_t piece : {1, 7, 63, 64, 65, 4096, 1000000}) {
		sha256 h;
		for (size_t i = 0; i < million.size(); i += piece)
			h.update(reinterpret_cast<const uint8_t*>(million.data()) + i, std::min(piece, million.size() - i));
		CHECK(h.finish_hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	}
}
