// A main() for the fuzz targets where libFuzzer is absent (the g++ builds):
// runs the target once on each file named, or on each file of each
// directory named, and exits 0 if none crashed or used more memory than
// tests/fuzz/run allows the fuzzers (2 GiB). The fuzz/<name> tests run every
// saved crash input and seed this way.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sys/resource.h>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

// As -rss_limit_mb in tests/fuzz/run.
constexpr long rss_limit_kib = 2048 * 1024;

void run_file(const std::filesystem::path& path)
{
	std::ifstream in(path, std::ios::binary);
	std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	std::cout << path.string() << " (" << bytes.size() << " bytes)" << std::endl;
	LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
	rusage usage{};
	getrusage(RUSAGE_SELF, &usage);
	if (usage.ru_maxrss > rss_limit_kib) {
		std::cout << path.string() << ": used " << usage.ru_maxrss / 1024 << " MiB, more than the fuzzers' limit of "
		          << rss_limit_kib / 1024 << " MiB" << std::endl;
		std::exit(1);
	}
}

}

int main(int argc, char** argv)
{
	size_t n = 0;
	for (int i = 1; i < argc; ++i) {
		std::filesystem::path p(argv[i]);
		if (!std::filesystem::exists(p))
			continue;  // no saved inputs of this kind yet
		if (std::filesystem::is_directory(p)) {
			std::vector<std::filesystem::path> files;
			for (auto& e : std::filesystem::directory_iterator(p))
				if (e.is_regular_file())
					files.push_back(e.path());
			std::sort(files.begin(), files.end());
			for (auto& f : files) {
				run_file(f);
				++n;
			}
		} else {
			run_file(p);
			++n;
		}
	}
	std::cout << "replayed " << n << " inputs" << std::endl;
	return 0;
}
