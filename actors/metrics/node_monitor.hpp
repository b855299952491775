#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/coordination/coordinator.hpp"
#include "messages/interfaces.hpp"

namespace kv {

// What the monitor watches and where its findings go.
struct node_monitor_settings {
  std::string node_id;
  std::string dc;
  std::string data_dir; // its size is the node's disk use
  std::chrono::milliseconds interval{1000};
  coordinator_node_actor coordinator;
  std::vector<replica_store_actor> stores;
  hint_buffer_actor hints;
  handoff_actor handoff;
  merkle_syncer_actor syncer;
  tombstone_reaper_actor reaper;
  gossiper_actor gossiper; // gets the node's load for its card
};

// Spawns the node's monitor: every interval it asks each actor for its
// figures (each question bounded by the interval; an actor that does not
// answer keeps its last figures), turns the coordinator's counters into
// rates and last-minute percentiles, sends the load to the gossiper, and
// answers get_atom, stats_atom with the whole picture.
node_monitor_actor spawn_node_monitor(caf::actor_system& sys,
                                      node_monitor_settings settings);

} // namespace kv
