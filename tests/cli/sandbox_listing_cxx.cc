// sandbox_listing_cxx.cc - built and run under `shmcache run` by
// test_cli_sandbox.py when a C++ compiler is at hand: lists DIR with
// std::filesystem (libstdc++ reads directories through opendir/readdir).
//
//   sandbox_listing_cxx DIR
//
// prints "directory_iterator: <names>" and "recursive_directory_iterator:
// <paths relative to DIR>", sorted and space-separated.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

static void print(const char *what, std::vector<std::string> v)
{
	std::sort(v.begin(), v.end());
	std::cout << what << ":";
	for (const auto &s : v)
		std::cout << " " << s;
	std::cout << "\n";
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	fs::path dir = argv[1];
	std::vector<std::string> v;
	for (const auto &e : fs::directory_iterator(dir))
		v.push_back(e.path().filename().string());
	print("directory_iterator", v);
	v.clear();
	for (const auto &e : fs::recursive_directory_iterator(dir))
		v.push_back(fs::relative(e.path(), dir).string());
	print("recursive_directory_iterator", v);
	return 0;
}
