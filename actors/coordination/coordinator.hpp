#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/ring/ring_manager.hpp"
#include "messages/interfaces.hpp"
#include "messages/request_stats.hpp"
#include "messages/limits.hpp"
#include "messages/request.hpp"

namespace kv {

struct coordinator_settings {
  std::string node_id;
  std::size_t max_value_bytes = 0;
  consistency_defaults consistency;
  // A node started without seeds is a cluster of its own: its defaults fit
  // its size. A node with seeds never shrinks N to its view.
  bool standalone = true;
  // The ring saved by the last run (or made at start): routes until the
  // ring manager's first snapshot arrives. Without one the node refuses
  // requests until it hears a ring: a lone view would make it own every
  // key.
  ring_state saved_ring;
  // Serves the anti-entropy views and forced repairs for operators.
  merkle_syncer_actor syncer;
  // Serves the tombstone reaping view.
  tombstone_reaper_actor reaper;
  // The longest deadline a request may ask for: tombstone reaping waits
  // this long (and a margin) between its two agreements.
  uint32_t max_timeout_ms = max_request_timeout_ms;
};

// The coordinator as its own node sees it: the client interface plus the
// updates the ring manager and gossiper push to it. Remote peers and clients
// only get the narrower coordinator_actor.
using coordinator_node_actor = coordinator_actor::extend<
  caf::reacts_to<ring_atom, ring_snapshot>,
  caf::reacts_to<members_atom, std::vector<node_card>>,
  // The last write placed with some ring version ended.
  caf::reacts_to<drained_atom>,
  // Each peer's wall clock minus this node's (ms), by node id: deadlines
  // sent to a replica are on its own clock.
  caf::reacts_to<offsets_atom, std::vector<std::string>, std::vector<int64_t>>,
  // What this coordinator served since it started (the node monitor's).
  caf::replies_to<stats_atom>::with<request_stats>,
  // The node's monitor, which answers clients' get_atom, stats_atom.
  caf::reacts_to<monitor_atom, node_monitor_actor>,
  // The node's autoscaler, which answers clients' autoscale_atom messages.
  caf::reacts_to<autoscale_atom, autoscaler_actor>>;

// Spawns the node's coordinator: it serves client put/get/delete for any key
// by sending each to the key's replicas (from the ring) and answering once W
// acknowledged (R answered), or with an error saying how many did when the
// timeout expires. After a read it repairs stale replicas in the background.
// `self_card` is this node's own card, so it can serve before any gossip.
coordinator_node_actor spawn_coordinator(caf::actor_system& sys,
                                         coordinator_settings settings,
                                         node_card self_card);

} // namespace kv
