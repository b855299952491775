#pragma once

#include <optional>
#include <string>
#include <vector>

#include "messages/membership.hpp"
#include "messages/ring_state.hpp"

namespace kv {

// How a node takes part in ring changes.
struct claimant_settings {
  uint32_t partitions = 1024; // shape of a ring this node creates
  uint32_t replicas = 3;
  // The nodes that form the first ring together. The smallest of them
  // creates it once all are up, so two nodes never create two first rings.
  // Empty: a node alone (its seeds name only itself) creates a ring of one;
  // any other node waits to hear a ring from its peers.
  std::vector<std::string> initial_members;
  bool alone = false;
  // The name a first ring made here gets (new_cluster_name()); empty: one
  // derived from the ring's content (tests).
  std::string cluster;
};

// A fresh random cluster name (16 hex digits), drawn once per node start:
// two clusters started apart never share one.
std::string new_cluster_name();

// Whether an operator removed some incarnation of node `id` from the ring
// (its card may linger, marked down, but it holds nothing the cluster
// waits for).
bool removed_id(const ring_state& ring, const std::string& id);

// How a ring's `removed` list (and a gossiper's forgotten set) names one
// process of a node: "id/incarnation".
std::string removal_name(const member_info& m);

// Whether this very process of the member (id and incarnation) was removed
// (or left): it is never taken back.
bool was_removed(const ring_state& ring, const member_info& m);

// Ring changes are made by one node, the claimant: the smallest id among
// the ring's members that this node sees up (riak_core's claimant). Each
// node computes it from its own view, so two nodes may both believe they
// are it for a moment; readiness (below) keeps them from both acting on the
// same version.
std::string claimant_of(const ring_state& ring,
                        const std::vector<member_info>& members,
                        const std::string& self_id);

// Run by every node whenever its view changes; only the claimant gets a
// change. Returns the next ring version, if one is due:
// - no ring yet: the first ring (see claimant_settings);
// - a change in transfer whose receivers all report their copies complete:
//   the next assignment becomes the current one;
// - a ring saved before clusters were named: the same ring with a name
//   derived from its content (two claimants naming one ring agree);
// - otherwise members up but not on the ring join, members marked leaving
//   leave (never the last one), in one change whose copies start now.
// Nothing changes unless every member of the ring (but removed ones) is up
// and holds the current version: a change decided while someone cannot
// hear it would let two versions be served at once.
std::optional<ring_state> plan_ring_change(const std::string& self_id,
                                           const ring_state& held,
                                           const std::vector<member_info>& members,
                                           const claimant_settings& settings);

// An operator's `remove NODE` (the node is dead and will not come back),
// planned by the claimant: its partitions go to the others, which copy them
// from the surviving replicas; a change in transfer restarts without it.
// The new ring, or why not (a one-line reason).
struct removal_plan {
  std::optional<ring_state> ring;
  std::string refusal;
};
removal_plan plan_removal(const std::string& self_id, const ring_state& held,
                          const std::vector<member_info>& members,
                          const std::string& node_id);

// An operator's `replace OLD NEW`: OLD is dead, NEW (running or not yet
// started; in its own DC if it runs, else it should start in OLD's) takes
// exactly OLD's place in every partition and copies them from the
// surviving replicas once it runs.
removal_plan plan_replacement(const std::string& self_id,
                              const ring_state& held,
                              const std::vector<member_info>& members,
                              const std::string& old_id,
                              const std::string& new_id);

} // namespace kv
