#pragma once

// A node's figures as its monitor gathered them (actors/metrics): what kvsh
// `stats`, the Prometheus endpoint and the status page show.

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

#include "messages/anti_entropy.hpp"
#include "messages/caf_types.hpp"
#include "messages/engine_stats.hpp"
#include "messages/request_stats.hpp"

namespace kv {

// Counters a replica store reports (for the shell, the autoscaler, benches).
struct store_stats {
  uint64_t keys_written = 0;    // coordinate + apply operations that changed data
  uint64_t reads = 0;
  uint64_t sibling_warnings = 0; // writes that left a key above the warning level
  uint64_t corrupt_records = 0;  // records that failed their checksum on read
  uint64_t tombstones = 0;       // keys whose record holds tombstones only
  // Keys of the partitions this node holds, counted by the anti-entropy
  // trees; complete once every held partition's tree is built.
  uint64_t keys = 0;
  bool keys_complete = false;
  // The storage engine as a whole (every store of a node reports the
  // same).
  engine_stats engine;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_stats& x) {
  return f(caf::meta::type_name("store_stats"), x.keys_written, x.reads,
           x.sibling_warnings, x.corrupt_records, x.tombstones, x.keys,
           x.keys_complete, x.engine);
}

// What a node's hint buffer holds and has done since it started.
struct hint_stats {
  uint64_t held = 0;      // hints waiting for their owners
  uint64_t held_bytes = 0;
  uint64_t stored = 0;    // hints accepted since the start
  uint64_t delivered = 0; // to their owners (or the keys' new owners)
  uint64_t expired = 0;   // dropped, older than the hint window
  uint64_t rejected = 0;  // refused by the owner as invalid, set aside
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hint_stats& x) {
  return f(caf::meta::type_name("hint_stats"), x.held, x.held_bytes, x.stored,
           x.delivered, x.expired, x.rejected);
}


struct node_stats {
  std::string node_id;
  std::string dc;
  uint64_t measured_ms = 0; // wall clock
  uint64_t uptime_s = 0;
  operation_figures get;
  operation_figures put;
  operation_figures del;
  uint64_t read_repairs = 0;
  uint64_t sibling_reads = 0;
  hint_stats hints;
  store_stats store; // summed over the node's store shards
  uint64_t disk_bytes = 0;
  // Handoff: the ring transition being copied in (0: none), partitions
  // to copy, copied, bytes copied.
  uint64_t handoff_transition = 0;
  uint64_t handoff_partitions = 0;
  uint64_t handoff_copied = 0;
  uint64_t handoff_bytes = 0;
  // Anti-entropy over the partitions this node holds.
  uint64_t aae_partitions = 0;
  uint64_t aae_compared = 0;
  uint64_t aae_keys_repaired = 0;
  uint64_t aae_bytes = 0;
  reap_status reaping;

  const operation_figures& of(request_kind kind) const {
    return kind == request_kind::get ? get
           : kind == request_kind::put ? put
                                       : del;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_stats& x) {
  return f(caf::meta::type_name("node_stats"), x.node_id, x.dc, x.measured_ms,
           x.uptime_s, x.get, x.put, x.del, x.read_repairs, x.sibling_reads,
           x.hints, x.store, x.disk_bytes, x.handoff_transition,
           x.handoff_partitions, x.handoff_copied, x.handoff_bytes,
           x.aae_partitions, x.aae_compared, x.aae_keys_repaired, x.aae_bytes,
           x.reaping);
}

} // namespace kv
