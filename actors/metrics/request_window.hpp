#pragma once

// Turns the coordinator's cumulative request stats, observed once per tick,
// into what operators watch: a smoothed rate per operation and latency
// percentiles over the last minute. Plain C++, unit-tested without CAF.

#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>

#include "messages/request_stats.hpp"

namespace kv {

class request_window {
public:
  // Percentiles cover `span`, kept as snapshots `step` apart.
  explicit request_window(
    std::chrono::milliseconds span = std::chrono::seconds{60},
    std::chrono::milliseconds step = std::chrono::seconds{10});

  // `cumulative` as the coordinator reported it at `now_ms` (steady time).
  void observe(uint64_t now_ms, const request_stats& cumulative);

  // Totals since the start, the smoothed rate and the window's latency.
  operation_figures figures(request_kind kind) const;

  const request_stats& latest() const { return latest_; }

private:
  uint64_t span_ms_;
  uint64_t step_ms_;
  std::deque<std::pair<uint64_t, request_stats>> snapshots_; // oldest first
  request_stats latest_;
  uint64_t latest_ms_ = 0;
  bool observed_ = false;
  double rates_[3] = {0, 0, 0};
};

} // namespace kv
