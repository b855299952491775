#pragma once

// Everything CAF needs to move the store's vocabulary between actors and
// nodes: inspect overloads, the error bridge and one registration function.
// Every node must register the same names, because CAF's remote handshake
// compares interface signature strings.

#include <optional>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include "messages/anti_entropy.hpp"
#include "messages/autoscale.hpp"
#include "messages/errors.hpp"
#include "messages/membership.hpp"
#include "messages/partition_chunk.hpp"
#include "messages/request.hpp"
#include "messages/ring_state.hpp"
#include "messages/validation.hpp"
#include "messages/vector_clock.hpp"
#include "messages/versioned_value.hpp"

namespace kv {

// The error a loading inspector returns for a value that fails validation:
// CAF's deserializer stops there and the message is dropped, so no actor ever
// sees a value that breaks its type's invariants. No error if `problem` is
// empty.
caf::error load_error(const char* type,
                      const std::optional<std::string>& problem);

// The default dot (no write) is let through: it is what a default-constructed
// versioned_value carries. Any other dot must name a real write.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dot& x) {
  auto checked = caf::meta::load_callback([&x] {
    return load_error("dot", x == dot{} ? std::nullopt : dot_problem(x));
  });
  return f(caf::meta::type_name("dot"), x.node, x.counter, checked);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clock_entry& x) {
  return f(caf::meta::type_name("clock_entry"), x.node, x.counter,
           x.timestamp_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, vector_clock& x) {
  // entries_ is written directly, bypassing the constructor that sorts and
  // deduplicates: the loaded entries must already be a well-formed clock.
  auto checked = caf::meta::load_callback([&x] {
    return load_error("vector_clock",
                      clock_problem(x, max_wire_clock_entries));
  });
  return f(caf::meta::type_name("vector_clock"), x.entries_, checked);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, versioned_value& x) {
  return f(caf::meta::type_name("versioned_value"), x.origin, x.context,
           x.timestamp_ms, x.tombstone, x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request_options& x) {
  return f(caf::meta::type_name("request_options"), x.n, x.r, x.w,
           x.timeout_ms, x.strict_quorum, x.overwrite);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, put_result& x) {
  return f(caf::meta::type_name("put_result"), x.context, x.acks,
           x.siblings);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_result& x) {
  return f(caf::meta::type_name("get_result"), x.siblings, x.context,
           x.replies);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_load& x) {
  return f(caf::meta::type_name("node_load"), x.measured_ms, x.ops_per_s,
           x.p99_us, x.keys, x.keys_complete, x.disk_bytes, x.hints,
           x.transfers, x.cpu_permille);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scaling_targets& x) {
  return f(caf::meta::type_name("scaling_targets"), x.min_nodes, x.max_nodes,
           x.replication, x.high_ops_per_node, x.low_ops_per_node,
           x.high_p99_us, x.high_cpu_share, x.out_window, x.in_window,
           x.cooldown, x.shrink_below_grown_share, x.grown_memory,
           x.shrink_newest);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_sample& x) {
  return f(caf::meta::type_name("node_sample"), x.node_id, x.up, x.ops_per_s,
           x.p99_us, x.cpu_share, x.data_bytes);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, autoscale_event& x) {
  return f(caf::meta::type_name("autoscale_event"), x.wall_ms, x.action,
           x.node, x.reason, x.outcome);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, autoscale_status& x) {
  return f(caf::meta::type_name("autoscale_status"), x.node_id, x.decider,
           x.paused, x.provisioner, x.targets, x.load, x.state, x.decisions);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_info& x) {
  return f(caf::meta::type_name("member_info"), x.node_id, x.dc, x.host,
           x.port, x.tokens, x.heartbeat, x.status, x.ring_epoch,
           x.handoff_done, x.incarnation, x.cluster, x.load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hint& x) {
  return f(caf::meta::type_name("hint"), x.intended_owner, x.key, x.versions,
           x.created_ms);
}

// Only the shape is checked on load (a bounded number of paired entries);
// the receiver checks keys and versions against its own value limit.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_chunk& x) {
  auto checked = caf::meta::load_callback([&x] {
    std::optional<std::string> problem;
    if (x.keys.size() != x.versions.size() || x.keys.size() > max_chunk_keys)
      problem = "keys and version lists do not pair up within the bound";
    return load_error("partition_chunk", problem);
  });
  return f(caf::meta::type_name("partition_chunk"), x.keys, x.versions,
           x.resume_after, x.done, checked);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, key_digests& x) {
  auto checked = caf::meta::load_callback([&x] {
    std::optional<std::string> problem;
    if (x.keys.size() != x.digests.size()
        || x.keys.size() > max_digests_per_reply)
      problem = "keys and digests do not pair up within the bound";
    return load_error("key_digests", problem);
  });
  return f(caf::meta::type_name("key_digests"), x.keys, x.digests,
           x.resume_after, x.done, checked);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, aae_partition& x) {
  return f(caf::meta::type_name("aae_partition"), x.partition, x.peer,
           x.last_exchange_ms, x.exchanges, x.keys_repaired, x.bytes, x.digest_bytes, x.tree);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reap_status& x) {
  return f(caf::meta::type_name("reap_status"), x.state, x.last_cycle_ms,
           x.cycles, x.candidates, x.pending, x.reaped, x.kept);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ring_assignment& x) {
  return f(caf::meta::type_name("ring_assignment"), x.ids, x.dcs, x.slots);
}

// A ring that breaks its invariants never reaches an actor (see load_error).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ring_state& x) {
  auto checked = caf::meta::load_callback(
    [&x] { return load_error("ring_state", ring_problem(x)); });
  return f(caf::meta::type_name("ring_state"), x.version, x.claimant,
           x.cluster,
           x.partitions, x.replicas, x.current, x.next, x.previous,
           x.transition,
           x.removed, checked);
}

// The category atom of every kv error.
constexpr caf::atom_value error_category = caf::atom("kv");

// A kv error whose rendering reads "<code>: <detail>".
caf::error make_kv_error(kv_errc code, std::string detail);

// Is `err` a kv error with code `code`?
bool is_kv_error(const caf::error& err, kv_errc code);

// Renders any error for people: kv errors as "<code>: <detail>", CAF's own
// (timeouts, unreachable nodes) in words.
std::string describe(const caf::error& err);

// Registers every message type, typed actor handle and the kv error category.
// Call once on each actor_system_config, before the system starts.
void register_message_types(caf::actor_system_config& cfg);

} // namespace kv
