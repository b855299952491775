#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/ring/ring_manager.hpp"
#include "messages/interfaces.hpp"

namespace kv {

struct merkle_syncer_settings {
  std::string node_id;
  // Pause between two exchanges (each compares one partition with one other
  // replica); 0 turns active anti-entropy off. A node holding P partitions
  // compares each with some replica every P x interval.
  std::chrono::milliseconds interval{20};
  // Bounds on one exchange, so it never costs more than a slice of the
  // foreground's share: differing segments read, keys repaired, keys
  // repaired at once, and the wait for any one answer.
  uint32_t max_segments = 64;
  uint32_t max_keys = 2048;
  uint32_t keys_in_flight = 32;
  std::chrono::milliseconds request_timeout{10000};
};

// The syncer as its node sees it: the public interface plus ring updates,
// the members' cards and its pacing timer.
using merkle_syncer_node_actor = merkle_syncer_actor::extend<
  caf::reacts_to<ring_atom, ring_snapshot>,
  caf::reacts_to<members_atom, std::vector<node_card>>,
  caf::reacts_to<tick_atom>>;

// Spawns the syncer of a node. One exchange at a time: for a partition this
// node holds and one other replica that is up, it compares the trees of
// both (each node's tree is the XOR of its stores' trees), top-down, then
// the key digests of the differing segments, then moves the sibling sets of
// the differing keys both ways through the stores' merge, which never
// overwrites a newer or concurrent version. Partitions are taken in turn,
// the peer rotating among the other replicas.
merkle_syncer_node_actor spawn_merkle_syncer(
  caf::actor_system& sys, merkle_syncer_settings settings,
  std::vector<replica_store_actor> stores);

} // namespace kv
