#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace kv {

// Paces a background copy (handoff, partition cleanup) chunk by chunk so it
// leaves the node to its foreground work: at most `max_bytes_per_s` of
// records, and busy (a chunk's requests outstanding) at most
// `max_busy_share` of the time, whatever the records cost to read and
// merge. Plain logic: the caller passes the time.
class transfer_pacer {
public:
  using clock = std::chrono::steady_clock;

  transfer_pacer(uint64_t max_bytes_per_s, double max_busy_share);

  // Work on a chunk starts now.
  void started(clock::time_point now);

  // The chunk of `bytes` is done now: how long to wait before the next.
  std::chrono::milliseconds finished(std::size_t bytes, clock::time_point now);

private:
  uint64_t max_bytes_per_s_;
  double max_busy_share_;
  clock::time_point window_start_;
  uint64_t window_bytes_ = 0;
  clock::time_point chunk_start_;
};

} // namespace kv
