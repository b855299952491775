#pragma once

#include <cstdint>
#include <string>

namespace kv {

enum class log_level { info, warning, error };

// One timestamped line on stderr (CAF's own logging is compiled out in
// Debian's build). Thread-safe: each line is written with a single call.
void log_line(log_level level, const std::string& text);

// Milliseconds since the Unix epoch: timestamps of versions, hints and
// heartbeats (never used to order versions).
uint64_t wall_clock_ms();

} // namespace kv
