#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/ring/ring_manager.hpp"
#include "messages/interfaces.hpp"

namespace kv {

struct tombstone_reaper_settings {
  std::string node_id;
  // Pause between two cycles (0: no reaping).
  std::chrono::milliseconds interval{10'000};
  // The least time between the two agreements a tombstone needs (at least
  // one interval): longer than any request that may still carry an older
  // version of the key (a replication, read repair or hint made by a
  // coordinator, each bounded by the request's deadline; an exchange or a
  // hint delivery, bounded by their timeouts). The node sets it to its
  // longest request timeout plus a margin.
  std::chrono::milliseconds settle{0};
  // A tombstone is a candidate only this long after its delete: the window
  // in which a client may still read it and write on top of it.
  std::chrono::milliseconds grace{60'000};
  std::chrono::milliseconds request_timeout{3'000};
  uint32_t batch = 256;         // keys per question to a node
  uint32_t parallel_jobs = 4;   // pages read or batches asked about at once
  uint32_t max_pending = 8192;  // keys agreed once, awaiting confirmation
};

// The reaper as its node sees it: the public interface plus ring updates,
// the members' cards and its timer.
using tombstone_reaper_node_actor = tombstone_reaper_actor::extend<
  caf::reacts_to<ring_atom, ring_snapshot>,
  caf::reacts_to<members_atom, std::vector<node_card>>,
  caf::reacts_to<tick_atom>>;

// Spawns the reaper of a node. Each cycle, while reap_blocker finds nothing
// in the way, it
//  1. confirms the keys agreed in the previous cycle: every replica of the
//     partition still holds exactly the tombstones and no node holds a hint
//     for the key; confirmed keys are reaped on every node that is not a
//     replica first (a stale copy of an old owner must not outlive them),
//     then on the replicas (see reap_atom: a record that changed is kept);
//  2. pages through the tombstones older than the grace period of the
//     partitions this node is the first replica of, asks every replica and
//     every hint buffer about them, and keeps the agreed ones for step 1 of
//     the next cycle.
// A ring change, a node that is not up or a ring version not held by all
// stops it and forgets the agreed keys.
tombstone_reaper_node_actor spawn_tombstone_reaper(
  caf::actor_system& sys, tombstone_reaper_settings settings,
  std::vector<replica_store_actor> stores);

} // namespace kv
