// A temporary directory for unit tests that need real files, removed with
// everything in it when the test ends.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace thinmeta::test {

class temp_dir {
public:
	temp_dir()
	{
		std::string pattern = (std::filesystem::temp_directory_path() / "thinmeta-unit-XXXXXX").string();
		std::vector<char> buf(pattern.begin(), pattern.end());
		buf.push_back('\0');
		path_ = ::mkdtemp(buf.data());
	}
	~temp_dir() { std::filesystem::remove_all(path_); }
	temp_dir(const temp_dir&) = delete;
	temp_dir& operator=(const temp_dir&) = delete;

	std::string file(const std::string& name) const { return (path_ / name).string(); }

	// Writes `bytes` to a new file and returns its path.
	std::string write(const std::string& name, const std::vector<uint8_t>& bytes) const
	{
		std::ofstream out(file(name), std::ios::binary);
		out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
		return file(name);
	}

private:
	std::filesystem::path path_;
};

}
