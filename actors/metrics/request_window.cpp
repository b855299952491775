#include "actors/metrics/request_window.hpp"

namespace kv {

namespace {

constexpr request_kind kinds[] = {request_kind::get, request_kind::put,
                                  request_kind::del};

// Weight of the newest second in the smoothed rate: a change shows within
// a few seconds, a single burst does not dominate.
constexpr double rate_weight = 0.3;

uint64_t us_of(uint64_t ns) {
  return (ns + 999) / 1000;
}

} // namespace

request_window::request_window(std::chrono::milliseconds span,
                               std::chrono::milliseconds step)
  : span_ms_(static_cast<uint64_t>(span.count())),
    step_ms_(static_cast<uint64_t>(step.count())) {
  // nop
}

void request_window::observe(uint64_t now_ms, const request_stats& cumulative) {
  if (observed_ && now_ms > latest_ms_) {
    double seconds = static_cast<double>(now_ms - latest_ms_) / 1000.0;
    for (auto kind : kinds) {
      auto now = cumulative.of(kind).requests;
      auto before = latest_.of(kind).requests;
      double rate = now >= before ? static_cast<double>(now - before) / seconds
                                  : 0.0;
      auto& smoothed = rates_[static_cast<int>(kind)];
      smoothed = rate_weight * rate + (1 - rate_weight) * smoothed;
    }
  }
  observed_ = true;
  latest_ = cumulative;
  latest_ms_ = now_ms;
  if (snapshots_.empty() || now_ms >= snapshots_.back().first + step_ms_)
    snapshots_.emplace_back(now_ms, cumulative);
  while (snapshots_.size() > 1
         && now_ms > snapshots_[1].first + span_ms_)
    snapshots_.pop_front();
}

operation_figures request_window::figures(request_kind kind) const {
  operation_figures f;
  auto& total = latest_.of(kind);
  f.requests = total.requests;
  f.errors = total.errors;
  f.quorum_failures = total.quorum_failures;
  f.unavailable = total.unavailable;
  f.latency_sum_s = static_cast<double>(total.latency.sum()) / 1e9;
  f.per_s = rates_[static_cast<int>(kind)];
  if (snapshots_.empty())
    return f;
  auto window = total;
  window.subtract(snapshots_.front().second.of(kind));
  f.window_requests = window.latency.count();
  if (f.window_requests == 0)
    return f;
  f.p50_us = us_of(window.latency.percentile(50));
  f.p90_us = us_of(window.latency.percentile(90));
  f.p99_us = us_of(window.latency.percentile(99));
  f.p999_us = us_of(window.latency.percentile(99.9));
  f.max_us = us_of(window.latency.max());
  return f;
}

} // namespace kv
