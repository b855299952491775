#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace kv {

enum class log_level { info, warning, error };

// One timestamped line on stderr (CAF's own logging is compiled out in
// Debian's build). Thread-safe: each line is written with a single call.
void log_line(log_level level, const std::string& text);

// Lines of one kind at most once per interval: a fault that repeats every
// round (a peer down, a step retried) would otherwise flood the log. One per
// actor state; not thread-safe.
class log_throttle {
public:
  explicit log_throttle(std::chrono::seconds every = std::chrono::seconds{10})
    : every_(every) {}

  // Logs `text` unless a line went out less than the interval ago; true if
  // it was logged.
  bool line(log_level level, const std::string& text);

private:
  std::chrono::seconds every_;
  std::chrono::steady_clock::time_point last_{};
};

// Milliseconds since the Unix epoch: timestamps of versions, hints and
// heartbeats (never used to order versions).
uint64_t wall_clock_ms();

} // namespace kv
