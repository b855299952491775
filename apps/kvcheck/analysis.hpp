#pragma once

// The checker's verdict over a history (apps/kvcheck/history.hpp) and the
// final state of the cluster after every fault was healed. Plain C++: the
// caller gathers the final state (kvcheck's check mode over CAF, or a unit
// test by hand).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "apps/kvcheck/history.hpp"

namespace kv::check {

// A key as the final quorum read saw it, after heal.
struct key_state {
  bool read_ok = false;
  std::string read_error;
  std::vector<std::string> values; // live siblings (tombstones dropped)
};

// Replica convergence as the caller measured it: every owner's own copy
// (local versions on each node of the preference list) compared, polled
// until equal or a deadline.
struct convergence {
  uint64_t keys = 0;
  uint64_t divergent = 0;         // still different at the deadline
  uint64_t converge_ms = 0;       // time until every key agreed (or deadline)
  std::vector<std::string> samples; // some divergent keys, with details
  // Tombstone reaping, when waited for (reap_waited): keys some node held
  // tombstones only for after convergence, and how many still do at the
  // end of the wait (each fails the run).
  bool reap_waited = false;
  uint64_t tombstones_seen = 0;
  uint64_t tombstones_left = 0;
  uint64_t reap_ms = 0;
  std::vector<std::string> tombstone_samples;
};

struct phase_stats {
  uint64_t ops = 0; // requests to nodes that were up (not killed, not paused)
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t indeterminate = 0;
  uint64_t to_down_nodes = 0; // requests to killed or paused nodes (excluded)
  double error_rate() const {
    return ops == 0 ? 0.0 : double(failed + indeterminate) / double(ops);
  }
};

struct check_options {
  // A client waits for the request timeout plus the client library's margin;
  // an answer later than that plus `hang_margin_ms` is a hang.
  uint64_t client_margin_ms = 2000;
  uint64_t hang_margin_ms = 3000;
};

struct check_result {
  uint64_t ops = 0;
  uint64_t acked_puts = 0;
  uint64_t acked_removes = 0;
  uint64_t acked_set_adds = 0;
  std::vector<std::string> lost;        // acknowledged, not in the final read
  std::vector<std::string> phantoms;    // values nobody wrote
  std::vector<std::string> resurrected; // acknowledged deletes read back
  std::vector<std::string> unreadable;  // keys whose final read failed
  std::vector<std::string> sibling_violations; // more than the writers
  std::vector<std::string> hangs;       // answers past timeout plus margin
  std::vector<std::string> crashes;     // from the orchestration (incidents)
  uint64_t failed_but_visible = 0; // writes reported failed yet present (info)
  convergence replicas;
  // "steady" (no fault), "fault" (at least one active), "healed" (after the
  // final heal), and one entry per nemesis name ("fault:partition-one").
  std::map<std::string, phase_stats> phases;

  // No loss, phantom, resurrection, unreadable key, sibling excess, hang or
  // crash, and every key's replicas identical by the end of the
  // convergence wait (read from each replica, never by a client read that
  // would repair them: active anti-entropy closes the gaps).
  bool valid() const;
  // One line: the verdict and the counts.
  std::string summary() const;
  std::string to_json() const;
};

// Checks `history` against the final state of its keys. Every key written
// in the history must appear in `final_keys` (missing keys count as
// unreadable). `incidents` are crash and hang lines from the orchestration.
check_result analyse(const std::vector<op_record>& history,
                     const std::vector<cluster_event>& events,
                     const std::map<std::string, key_state>& final_keys,
                     const convergence& replicas,
                     const std::vector<std::string>& incidents,
                     const check_options& opts = {});

// The keys a final check must read: every key of the history.
std::vector<std::string> keys_of(const std::vector<op_record>& history);

} // namespace kv::check
