#include "messages/request_stats.hpp"

#include <algorithm>

namespace kv {

const char* to_string(request_kind x) {
  switch (x) {
    case request_kind::get:
      return "get";
    case request_kind::put:
      return "put";
    case request_kind::del:
      return "delete";
  }
  return "?";
}

void operation_stats::record(outcome how, uint64_t ns) {
  ++requests;
  latency.record(ns);
  if (how == outcome::ok)
    return;
  ++errors;
  if (how == outcome::quorum_failed)
    ++quorum_failures;
  else if (how == outcome::unavailable)
    ++unavailable;
}

void operation_stats::subtract(const operation_stats& earlier) {
  auto minus = [](uint64_t& x, uint64_t y) { x -= std::min(x, y); };
  minus(requests, earlier.requests);
  minus(errors, earlier.errors);
  minus(quorum_failures, earlier.quorum_failures);
  minus(unavailable, earlier.unavailable);
  latency.subtract(earlier.latency);
}

operation_stats& request_stats::of(request_kind kind) {
  return kind == request_kind::get ? get : kind == request_kind::put ? put : del;
}

const operation_stats& request_stats::of(request_kind kind) const {
  return kind == request_kind::get ? get : kind == request_kind::put ? put : del;
}

operation_stats::outcome outcome_of(bool is_kv, kv_errc code) {
  if (!is_kv)
    return operation_stats::outcome::other;
  switch (code) {
    case kv_errc::read_quorum_failed:
    case kv_errc::write_quorum_failed:
      return operation_stats::outcome::quorum_failed;
    case kv_errc::unavailable:
      return operation_stats::outcome::unavailable;
    default:
      return operation_stats::outcome::other;
  }
}

} // namespace kv
