#include "actors/handoff/transfer_pacer.hpp"

#include <algorithm>

namespace kv {

using std::chrono::milliseconds;

transfer_pacer::transfer_pacer(uint64_t max_bytes_per_s,
                               double max_busy_share)
  : max_bytes_per_s_(std::max<uint64_t>(max_bytes_per_s, 1)),
    max_busy_share_(std::clamp(max_busy_share, 0.01, 1.0)) {
}

void transfer_pacer::started(clock::time_point now) {
  chunk_start_ = now;
  if (window_start_ == clock::time_point{})
    window_start_ = now;
}

milliseconds transfer_pacer::finished(std::size_t bytes,
                                      clock::time_point now) {
  // The rate: the window's bytes are due no earlier than bytes / rate after
  // the window began; a window restarts every second.
  window_bytes_ += bytes;
  auto due = std::chrono::duration_cast<milliseconds>(
    std::chrono::duration<double>(static_cast<double>(window_bytes_)
                                  / static_cast<double>(max_bytes_per_s_)));
  auto elapsed = std::chrono::duration_cast<milliseconds>(now - window_start_);
  auto for_rate = std::max(due - elapsed, milliseconds{0});
  if (elapsed > std::chrono::seconds{1}) {
    window_start_ = now;
    window_bytes_ = 0;
  }
  // The busy share: a chunk that kept the node busy for b waits
  // b * (1 - share) / share, so busy time is at most that share.
  auto busy = std::chrono::duration<double>(now - chunk_start_);
  auto for_share = std::chrono::duration_cast<milliseconds>(
    busy * ((1.0 - max_busy_share_) / max_busy_share_));
  return std::max(for_rate, for_share);
}

} // namespace kv
