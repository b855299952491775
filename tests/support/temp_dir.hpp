#pragma once

// A fresh directory under /tmp for one test, removed with everything in it
// when the test ends.

#include <cstdlib>
#include <filesystem>
#include <string>

namespace kv::testing {

struct temp_dir {
  std::filesystem::path path;

  // `prefix` names the suite, so a leftover directory tells whose it is.
  explicit temp_dir(const std::string& prefix = "kv_test") {
    std::string tmpl = "/tmp/" + prefix + "_XXXXXX";
    path = mkdtemp(tmpl.data());
  }
  ~temp_dir() { std::filesystem::remove_all(path); }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

} // namespace kv::testing
