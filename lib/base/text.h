// Building messages from pieces: cat("block ", 12, ": bad checksum").
#pragma once

#include <charconv>
#include <concepts>
#include <string>
#include <string_view>

namespace thinmeta {

namespace detail {
template <typename T>
void append_piece(std::string& out, const T& piece)
{
	if constexpr (std::same_as<T, bool>) {
		out += piece ? "true" : "false";
	} else if constexpr (std::same_as<T, char>) {
		out += piece;
	} else if constexpr (std::integral<T>) {
		char buf[24];
		auto r = std::to_chars(buf, buf + sizeof(buf), piece);
		out.append(buf, r.ptr);
	} else {
		out += std::string_view(piece);
	}
}
}

template <typename... Pieces>
std::string cat(const Pieces&... pieces)
{
	std::string out;
	(detail::append_piece(out, pieces), ...);
	return out;
}

}
