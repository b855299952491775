#pragma once

// The version every binary reports with --version (the CMake project's).

#include <cstring>
#include <iostream>

namespace kv {

constexpr const char* version = KV_VERSION;

// When the only argument is --version: prints "NAME (kvactors) VERSION"
// and returns true (the caller exits 0).
inline bool print_version_if_asked(int argc, char** argv, const char* name) {
  if (argc != 2 || std::strcmp(argv[1], "--version") != 0)
    return false;
  std::cout << name << " (kvactors) " << version << '\n';
  return true;
}

} // namespace kv
