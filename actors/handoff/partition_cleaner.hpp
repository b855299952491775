#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/ring/ring_manager.hpp"
#include "messages/interfaces.hpp"

namespace kv {

struct partition_cleaner_settings {
  std::string node_id;
  // How long the ring must have stayed settled (no change in transfer, no
  // old owners still written) before a pass starts: a node that lags on
  // the ring has caught up by then.
  std::chrono::milliseconds settle{30000};
  // How often a pass runs again on an unchanged ring: a hint delivered to a
  // node that gave the partition up is moved on then.
  std::chrono::milliseconds every{600000};
  uint64_t max_bytes_per_s = uint64_t{32} << 20; // records read, per second
  double max_busy_share = 1.0; // as the handoff's
  uint32_t chunk_bytes = 1u << 20;               // asked per scan
  std::chrono::milliseconds retry{1000};         // after a failed step
  std::chrono::milliseconds request_timeout{30000};
};

// The cleaner as its node sees it: ring and card updates, its timer, and
// its figures since the node started: complete passes, records dropped, and
// sibling sets an owner lacked and was sent first.
using partition_cleaner_actor = caf::typed_actor<
  caf::reacts_to<ring_atom, ring_snapshot>,
  caf::reacts_to<members_atom, std::vector<node_card>>,
  caf::reacts_to<tick_atom, uint64_t>,
  caf::replies_to<get_atom, discard_atom>::with<uint64_t, uint64_t, uint64_t>>;

// Spawns the cleaner of a node: once the ring has settled, it removes from
// `stores` the records of partitions this node no longer holds (it gave
// them up in a join, or left), so the disk holds what the node serves.
// Nothing is dropped that the partition's owners do not hold: for each
// chunk it asks every owner for the keys' digests, sends an owner the
// versions it lacks, and then asks the store to drop each record only if
// it is unchanged since the chunk was read (a write arriving meanwhile
// keeps it). An owner gets versions only if its record is still the one
// whose digest it reported (one reaped meanwhile stays gone). A partition
// with an owner that is not up, or a record kept for any reason, waits for
// the next pass. A node that is not on the ring (it left, was removed, or
// waits to join) cleans nothing: its copies may predate deletes reaped
// since.
partition_cleaner_actor spawn_partition_cleaner(
  caf::actor_system& sys, partition_cleaner_settings settings,
  std::vector<replica_store_actor> stores);

} // namespace kv
