#pragma once

// The autoscaler of one node. Every node runs one; only the node that
// decider_of names acts. Every `interval` it takes the ring (pushed by the
// ring manager) and the members with their gossiped load (asked of its
// gossiper), samples them (sample_cluster), feeds the policy
// (scaling_policy) and carries a decision out, one at a time:
//
// - grow: runs the provisioner with `grow`; done once the ring holds one
//   more member and has settled (the new node joined through the
//   membership's join and handoff).
// - shrink NODE: runs the provisioner with `check-shrink NODE` (can it stop
//   that node?), asks NODE's coordinator to leave (its partitions are handed
//   over), waits until the ring no longer lists it and its card shows no
//   hint left, then runs the provisioner with `shrink NODE` to stop it.
//
// Without a command it only advises: decisions are logged and shown, not
// carried out. Each step is bounded by `action_timeout`.

#include <chrono>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/membership/gossiper.hpp"
#include "actors/ring/ring_manager.hpp"
#include "messages/interfaces.hpp"

namespace kv {

struct autoscaler_settings {
  std::string node_id;
  scaling_targets targets;
  // The provisioner: `/bin/sh -c 'COMMAND "$@"' kv-autoscale grow` or
  // `... shrink NODE` (docs/autoscaling.md). Empty: decisions are advice.
  std::string command;
  bool paused = false;
  std::chrono::milliseconds interval{2000};
  std::chrono::milliseconds action_timeout{std::chrono::minutes{20}};
  // A member's load older than this (its monitor publishes every second):
  // nothing is decided on it.
  std::chrono::milliseconds stale_after{std::chrono::seconds{30}};
};

// The autoscaler as its node sees it: the public interface plus the cards
// from the gossiper, the ring from the ring manager, its gossiper's handle
// (from the node, once spawned) and its own timer. Each is taken from this
// node only.
using autoscaler_node_actor = autoscaler_actor::extend<
  caf::reacts_to<members_atom, std::vector<node_card>>,
  caf::reacts_to<ring_atom, ring_snapshot>,
  caf::reacts_to<gossip_atom, gossiper_actor>, caf::reacts_to<tick_atom>>;

autoscaler_node_actor spawn_autoscaler(caf::actor_system& sys,
                                       autoscaler_settings settings);

} // namespace kv
