#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/versioned_value.hpp"

namespace kv {

enum class member_status : uint8_t { up, suspect, down, leaving };

const char* to_string(member_status x);

// A node's load as its own monitor measured it (actors/metrics), published
// in its member record so every node sees the cluster's load without
// asking: kvsh `nodes`, and what an autoscaler decides on.
struct node_load {
  uint64_t measured_ms = 0;  // wall clock of the measurement; 0: none yet
  uint32_t ops_per_s = 0;    // client requests it coordinated, smoothed
  uint32_t p99_us = 0;       // their 99th percentile latency, last minute
  uint64_t keys = 0;         // keys of the partitions it holds
  bool keys_complete = false; // false while its trees are still counting
  uint64_t disk_bytes = 0;   // its data directory
  uint64_t hints = 0;        // hints it holds for other nodes
  uint32_t transfers = 0;    // partitions it still has to copy in
  // The share of its cores its process kept busy, in thousandths (1000:
  // every core it may use), smoothed like the rate.
  uint32_t cpu_permille = 0;
};

// One node as the membership list knows it. The gossiper owns these; the
// ring manager derives the ring from the tokens of the members.
struct member_info {
  std::string node_id;
  std::string dc;
  std::string host;
  uint16_t port = 0;
  std::vector<uint64_t> tokens; // virtual-node positions on the ring
  uint64_t heartbeat = 0;       // advanced by the node itself, gossiped
  member_status status = member_status::up;
  // The ring version this node holds (the claimant waits for every member
  // to hold the current one before it changes the ring again).
  uint64_t ring_epoch = 0;
  // The last ring transition for which this node holds every partition it
  // takes over (0: none): the claimant completes a change when all its
  // receivers report it.
  uint64_t handoff_done = 0;
  // Drawn when the node's data directory was created (node_identity): tells
  // a wiped or duplicate node from the one that had the id before.
  uint64_t incarnation = 0;
  // The cluster of the ring this node holds (ring_state::cluster); empty
  // while it has none. Cards of another cluster are not taken.
  std::string cluster;
  node_load load;
};

// A write held for a replica that was unreachable (sloppy quorum).
struct hint {
  std::string intended_owner; // node id that should hold the write
  std::string key;
  sibling_list versions;
  uint64_t created_ms = 0;
};

} // namespace kv
