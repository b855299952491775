#pragma once

#include <stdexcept>
#include <string>

namespace kv {

// The storage engine failed: cannot open the data directory, disk full, I/O
// error. The message is one line a person can act on.
class storage_error : public std::runtime_error {
public:
  storage_error(const std::string& what, int code = 0)
    : std::runtime_error(what), code_(code) {
    // nop
  }

  // WiredTiger's (or errno's) code, 0 if none.
  int code() const noexcept { return code_; }

private:
  int code_;
};

// A stored record failed its checksum, has an unknown format version or does
// not decode. Nothing is changed on disk when this is thrown.
class corrupt_record_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// A record written in a format newer than this build reads (after a
// downgrade): not damaged, so never set aside or overwritten.
class unknown_format_error : public corrupt_record_error {
public:
  using corrupt_record_error::corrupt_record_error;
};

} // namespace kv
