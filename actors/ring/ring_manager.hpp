#pragma once

#include <memory>

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/typed_actor.hpp>

#include "actors/ring/claimant.hpp"
#include "actors/ring/ring.hpp"
#include "messages/interfaces.hpp"

namespace kv {

// The ring as every actor of a node sees it: immutable, shared, replaced
// whole when the ring changes.
using ring_snapshot = std::shared_ptr<const ring>;

// Whoever wants ring updates (the coordinator, the handoff).
using ring_listener_actor
  = caf::typed_actor<caf::reacts_to<ring_atom, ring_snapshot>>;

// Spawns the ring manager. It turns each ring version the gossiper holds
// into a routing snapshot for `listeners`, and plans ring changes when this
// node is the claimant (see claimant.hpp): the plan goes back to the
// gossiper, which spreads it like any ring it hears. `saved` is the ring
// this node held when it stopped (an empty state if none).
ring_manager_actor spawn_ring_manager(caf::actor_system& sys,
                                      std::string self_id,
                                      claimant_settings settings,
                                      ring_state saved,
                                      std::vector<ring_listener_actor> listeners);

} // namespace kv

// Snapshots only travel between actors of one node, never over the network.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kv::ring_snapshot)
