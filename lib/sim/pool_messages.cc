// thin_pool: pool messages, parsed and checked as dm-thin.c's
// pool_message() and process_*_mesg() do, and committed when they succeed.
#include <cerrno>
#include <charconv>
#include <string>
#include <vector>

#include "base/text.h"
#include "sim/thin_pool.h"

namespace thinmeta::sim {

using thin::pool_error;

namespace {

std::vector<std::string_view> split_words(std::string_view text)
{
	std::vector<std::string_view> words;
	size_t i = 0;
	while (i < text.size()) {
		while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n'))
			++i;
		size_t j = i;
		while (j < text.size() && text[j] != ' ' && text[j] != '\t' && text[j] != '\n')
			++j;
		if (j > i)
			words.push_back(text.substr(i, j - i));
		i = j;
	}
	return words;
}

bool same_name(std::string_view a, std::string_view b)
{
	if (a.size() != b.size())
		return false;
	for (size_t i = 0; i < a.size(); ++i) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = char(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = char(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

// kstrtoull(s, 10): an optional '+', decimal digits, an optional newline.
bool parse_u64(std::string_view s, uint64_t& out)
{
	if (!s.empty() && s.front() == '+')
		s.remove_prefix(1);
	if (!s.empty() && s.back() == '\n')
		s.remove_suffix(1);
	if (s.empty() || s.front() < '0' || s.front() > '9')
		return false;
	auto r = std::from_chars(s.data(), s.data() + s.size(), out);
	return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

uint64_t device_id(std::string_view word)
{
	uint64_t id;
	if (!parse_u64(word, id) || id > max_thin_id)
		throw pool_error(EINVAL, cat("invalid device id '", word, "': a decimal number up to ", max_thin_id));
	return id;
}

void need_words(const std::vector<std::string_view>& words, size_t count)
{
	if (words.size() != count)
		throw pool_error(EINVAL, cat("message ", words[0], " received with ", words.size() - 1,
		                             " arguments instead of ", count - 1));
}

}

void thin_pool::message(std::string_view text)
{
	++stats_.messages;
	if (changes_no_metadata(mode_))
		throw pool_error(EOPNOTSUPP, cat("the pool takes no messages in ", describe(mode_), " mode"));
	std::vector<std::string_view> words = split_words(text);
	if (words.empty())
		throw pool_error(EINVAL, "empty pool message");
	std::string_view name = words[0];
	try {
		if (same_name(name, "create_thin")) {
			need_words(words, 2);
			create_thin(device_id(words[1]));
		} else if (same_name(name, "create_snap")) {
			need_words(words, 3);
			uint64_t dev = device_id(words[1]);
			create_snap(dev, device_id(words[2]));
		} else if (same_name(name, "delete")) {
			need_words(words, 2);
			delete_device(device_id(words[1]));
		} else if (same_name(name, "set_transaction_id")) {
			need_words(words, 3);
			uint64_t current_id, new_id;
			if (!parse_u64(words[1], current_id) || !parse_u64(words[2], new_id))
				throw pool_error(EINVAL, cat("set_transaction_id: unrecognised id in '", text, "'"));
			set_transaction_id(current_id, new_id);
		} else if (same_name(name, "reserve_metadata_snap")) {
			need_words(words, 1);
			reserve_metadata_snap();
		} else if (same_name(name, "release_metadata_snap")) {
			need_words(words, 1);
			release_metadata_snap();
		} else {
			throw pool_error(EINVAL, cat("unrecognised pool message '", name, "'"));
		}
	} catch (const pdata::no_space_error& e) {
		throw pool_error(ENOSPC, e.what());
	}
	commit();
}

void thin_pool::create_thin(uint64_t dev)
{
	pmd_->create_thin(dev);
}

void thin_pool::create_snap(uint64_t dev, uint64_t origin)
{
	pmd_->create_snap(dev, origin);
}

void thin_pool::delete_device(uint64_t dev)
{
	pmd_->delete_device(dev);
}

void thin_pool::set_transaction_id(uint64_t current_id, uint64_t new_id)
{
	pmd_->set_transaction_id(current_id, new_id);
}

// The pool commits first, then the metadata takes the snapshot.
void thin_pool::reserve_metadata_snap()
{
	commit();
	pmd_->reserve_metadata_snap();
}

void thin_pool::release_metadata_snap()
{
	pmd_->release_metadata_snap();
}

}
