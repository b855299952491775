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
  // Pause between two rounds (each compares the roots of every partition
  // this node shares with one other node, then exchanges the partitions
  // that differ, back to back); 0 turns the rounds off (`repair` still
  // works). With k peers, each pair of replicas is compared every
  // k x interval.
  std::chrono::milliseconds interval{1000};
  // Bounds on one exchange, so it never costs more than a slice of the
  // foreground's share: differing segments read, keys repaired, digest
  // pages read, keys repaired at once, and the wait for any one answer.
  uint32_t max_segments = 64;
  uint32_t max_keys = 2048;
  uint32_t max_pages = 16; // digest pages (up to 4096 keys each) per side
  uint32_t keys_in_flight = 32;     // per exchange
  uint32_t parallel_exchanges = 4;  // exchanges (of different partitions)
  std::chrono::milliseconds request_timeout{3000};
};

// The syncer as its node sees it: the public interface plus ring updates,
// the members' cards and its pacing timer.
using merkle_syncer_node_actor = merkle_syncer_actor::extend<
  caf::reacts_to<ring_atom, ring_snapshot>,
  caf::reacts_to<members_atom, std::vector<node_card>>,
  caf::reacts_to<tick_atom>, caf::reacts_to<sync_atom>>;

// Spawns the syncer of a node. Every interval it takes the next node it
// shares partitions with and compares the roots of all of them in one
// request per store (each node's tree is the XOR of its stores' trees).
// Each partition whose roots differ gets an exchange, a few at a time: the
// trees compared top-down, then the key digests of the differing segments,
// then the sibling sets of the differing keys moved both ways through the
// stores' merge, which never overwrites a newer or concurrent version.
merkle_syncer_node_actor spawn_merkle_syncer(
  caf::actor_system& sys, merkle_syncer_settings settings,
  std::vector<replica_store_actor> stores);

} // namespace kv
