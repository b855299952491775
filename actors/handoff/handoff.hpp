#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/ring/ring_manager.hpp"
#include "messages/interfaces.hpp"

namespace kv {

struct handoff_settings {
  std::string node_id;
  std::size_t max_value_bytes = 0;
  // The copy rate (bytes/s of records received): handoff shares disks and
  // links with the foreground load, so it is paced, not flat out.
  uint64_t max_bytes_per_s = uint64_t{32} << 20;
  // The largest share of the time the copy may keep a chunk's requests
  // outstanding (scans, merges): what a chunk costs besides its bytes.
  double max_busy_share = 1.0;
  uint32_t chunk_bytes = 1u << 20; // asked per scan
  std::chrono::milliseconds retry{1000};          // after a failed step
  std::chrono::milliseconds request_timeout{30000}; // one scan or merge
  // Where the copy's progress is saved (<dir>/HANDOFF), so a receiver that
  // restarts goes on where it stopped; empty: not saved.
  std::string state_dir;
  // The least time between two saves: progress made since the last one is
  // copied again after a crash (merges are idempotent).
  std::chrono::milliseconds save_every{1000};
};

// The handoff as its node sees it: the public interface plus ring updates
// and its pacing timer.
using handoff_node_actor = handoff_actor::extend<
  caf::reacts_to<ring_atom, ring_snapshot>, caf::reacts_to<tick_atom>>;

// Spawns the handoff of a node. When the ring has a change in transfer in
// which this node takes over partitions, it copies each of them, one at a
// time, from the nodes that give it up (or, when one of those is not up,
// from every live current owner) into `stores` through the store's normal
// merge, so a newer or concurrent version is never overwritten; writes that
// arrive meanwhile reach this node too (pending owners). When every
// partition is copied it reports the transition to its gossiper; the
// claimant then completes the change. A failed step is retried; after a
// crash the node goes on from its saved progress (see handoff_progress):
// the partitions copied are skipped, the one in progress resumes after the
// last key saved, if it is read from the same source again.
handoff_node_actor spawn_handoff(caf::actor_system& sys,
                                 handoff_settings settings,
                                 std::vector<replica_store_actor> stores);

} // namespace kv
