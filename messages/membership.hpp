#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/versioned_value.hpp"

namespace kv {

enum class member_status : uint8_t { up, suspect, down, leaving };

const char* to_string(member_status x);

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
};

// A write held for a replica that was unreachable (sloppy quorum).
struct hint {
  std::string intended_owner; // node id that should hold the write
  std::string key;
  sibling_list versions;
  uint64_t created_ms = 0;
};

} // namespace kv
