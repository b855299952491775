#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/ring/ring_manager.hpp"
#include "messages/interfaces.hpp"
#include "persistence/wt_engine.hpp"

namespace kv {

struct hint_buffer_settings {
  std::string table = "hints";
  uint64_t max_hints = 1'000'000; // count bound ((owner, key) records)
  uint64_t max_bytes = 1ull << 30; // bound on record key + encoded hint bytes
  // Hints older than this (by created_ms) are dropped: Cassandra's 3 h
  // window. Past it, read repair and anti-entropy bring the owner up to date.
  std::chrono::milliseconds max_age{3 * 3600 * 1000};
  // Backoff per owner after a failed delivery: doubles from retry_min up to
  // retry_max, reset by a successful batch or a new card for the owner.
  std::chrono::milliseconds retry_min{200};
  std::chrono::milliseconds retry_max{30'000};
  uint32_t batch = 64;                  // deliveries in flight per owner
  std::chrono::milliseconds tick{500};  // how often it looks for work
  // How long one delivery (apply to the owner's store) may take.
  std::chrono::milliseconds delivery_timeout{5'000};
};

// Spawns the hint buffer of a node: a detached actor (its own thread, since
// every message does blocking disk I/O) with its own WiredTiger session and
// cursor on `settings.table`. It creates the table if it is missing (callers
// may create it first; creating an existing table is a no-op), then scans it
// once to rebuild the per-owner counts, so hints survive restarts.
//
// Records: key = owner + '\0' + key, value = encode_hint(hint). A second
// hint for the same (owner, key) merges its versions with reconcile and keeps
// the newer created_ms, so every held write gets the whole window (the
// record stays one sibling set per key, whatever the number of writes).
//
// Hints are delivered (apply_atom to the owner's store for the key) when the
// latest card for the owner says it is up; see hint_buffer.cpp. Hints for a
// node that is no longer on the ring (it left, or was removed) go to the
// key's owners on the current ring instead, all of them, so the write is
// not lost with the node.
//
// Throws storage_error if the table or session cannot be opened.
using hint_buffer_node_actor
  = hint_buffer_actor::extend<caf::reacts_to<ring_atom, ring_snapshot>>;
hint_buffer_node_actor spawn_hint_buffer(caf::actor_system& sys,
                                         std::shared_ptr<wt_engine> engine,
                                         hint_buffer_settings settings);

} // namespace kv
