#pragma once

// What a node's coordinator has served since it started. Cumulative: a
// reader takes two snapshots and subtracts them for a window (rates,
// latency percentiles of the last minute).

#include <cstdint>

#include "messages/errors.hpp"
#include "messages/latency_histogram.hpp"

namespace kv {

enum class request_kind : uint8_t { get, put, del };

const char* to_string(request_kind x);

struct operation_stats {
  uint64_t requests = 0;
  uint64_t errors = 0;          // every error reply, the two below included
  uint64_t quorum_failures = 0; // R or W not reached in time
  uint64_t unavailable = 0;     // no replica reachable, hint buffer full
  latency_histogram latency;    // ns from arrival to reply, errors included

  // How a request ended, as counted.
  enum class outcome : uint8_t { ok, quorum_failed, unavailable, other };
  // Adds one request that took `ns`.
  void record(outcome how, uint64_t ns);

  // What was recorded since `earlier`, a previous snapshot of this one.
  void subtract(const operation_stats& earlier);
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, operation_stats& x) {
  return f(x.requests, x.errors, x.quorum_failures, x.unavailable, x.latency);
}

struct request_stats {
  operation_stats get;
  operation_stats put;
  operation_stats del;
  uint64_t read_repairs = 0;  // replicas sent newer versions after a read
  uint64_t sibling_reads = 0; // gets that returned several siblings

  operation_stats& of(request_kind kind);
  const operation_stats& of(request_kind kind) const;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request_stats& x) {
  return f(x.get, x.put, x.del, x.read_repairs, x.sibling_reads);
}

// One operation (get, put, delete) of the node's coordinator.
struct operation_figures {
  uint64_t requests = 0; // since the start
  uint64_t errors = 0;
  uint64_t quorum_failures = 0;
  uint64_t unavailable = 0;
  double latency_sum_s = 0; // of every request since the start
  double per_s = 0;         // requests per second, smoothed
  // Latency percentiles over the last minute (microseconds; 0: no request).
  uint64_t window_requests = 0;
  uint64_t p50_us = 0;
  uint64_t p90_us = 0;
  uint64_t p99_us = 0;
  uint64_t p999_us = 0;
  uint64_t max_us = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, operation_figures& x) {
  return f(x.requests, x.errors,
           x.quorum_failures, x.unavailable, x.latency_sum_s, x.per_s,
           x.window_requests, x.p50_us, x.p90_us, x.p99_us, x.p999_us,
           x.max_us);
}

// The outcome an error reply counts as.
operation_stats::outcome outcome_of(bool is_kv, kv_errc code);

} // namespace kv
