#include "actors/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace kv {

uint64_t wall_clock_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(
    duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count());
}

void log_line(log_level level, const std::string& text) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
  const char* tag = level == log_level::info      ? "info"
                    : level == log_level::warning ? "warning"
                                                  : "error";
  std::string line = std::string{stamp} + "." + (millis < 100 ? millis < 10 ? "00" : "0" : "")
                     + std::to_string(millis) + "Z " + tag + " " + text + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

bool log_throttle::line(log_level level, const std::string& text) {
  auto now = std::chrono::steady_clock::now();
  if (last_ != std::chrono::steady_clock::time_point{} && now - last_ < every_)
    return false;
  last_ = now;
  log_line(level, text);
  return true;
}

} // namespace kv
