#pragma once

#include <memory>

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/typed_actor.hpp>

#include "actors/ring.hpp"
#include "messages/interfaces.hpp"

namespace kv {

// The ring as every actor of a node sees it: immutable, shared, replaced
// whole when membership changes.
using ring_snapshot = std::shared_ptr<const ring>;

// Whoever wants ring updates (the coordinator; later the syncer and handoff).
using ring_listener_actor
  = caf::typed_actor<caf::reacts_to<ring_atom, ring_snapshot>>;

// Spawns the ring manager: builds a new ring (next epoch) whenever the
// member set or anyone's tokens change, pushes it to `listeners` and answers
// preference-list queries.
ring_manager_actor spawn_ring_manager(caf::actor_system& sys,
                                      std::vector<ring_listener_actor> listeners);

} // namespace kv

// Snapshots only travel between actors of one node, never over the network.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kv::ring_snapshot)
