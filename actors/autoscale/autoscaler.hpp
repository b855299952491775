#pragma once

// The autoscaler of one node. Every node runs one; only the node that
// decider_of names acts. Every `interval` it reads its coordinator's ring,
// samples the members' gossiped load (sample_cluster), feeds the policy
// (scaling_policy) and carries a decision out, one at a time:
//
// - grow: runs the provisioner command with `grow`; done once the ring
//   holds one more member and has settled (the new node joined through the
//   membership's join and handoff).
// - shrink NODE: asks NODE's coordinator to leave (its partitions are
//   handed over), waits until the ring no longer lists it, then runs the
//   provisioner with `shrink NODE` to stop its process.
//
// Without a command it only advises: decisions are logged and shown, not
// carried out. Each step is bounded by `action_timeout`.

#include <chrono>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/membership/gossiper.hpp"
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
  // This node's coordinator: the ring it routes with.
  coordinator_actor coordinator;
};

// The autoscaler as its node sees it: the public interface plus the cards
// from the gossiper and its own timer.
using autoscaler_node_actor = autoscaler_actor::extend<
  caf::reacts_to<members_atom, std::vector<node_card>>,
  caf::reacts_to<tick_atom>>;

autoscaler_node_actor spawn_autoscaler(caf::actor_system& sys,
                                       autoscaler_settings settings);

} // namespace kv
