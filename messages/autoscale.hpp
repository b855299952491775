#pragma once

// The autoscaler's vocabulary: its bounds, the load of one node as it
// decides on it, and what it reports to operators (kvsh `autoscale`). Plain
// C++; the rules are in actors/autoscale/scaling_policy.hpp.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace kv {

struct scaling_targets {
  uint32_t min_nodes = 3;
  uint32_t max_nodes = 5;
  // The largest replication factor in use: the cluster never shrinks below
  // it (a key could not have that many replicas).
  uint32_t replication = 3;
  // Per-node request rate (mean over the up nodes) above which the cluster
  // grows, and the rate per node the cluster would have with one node fewer
  // below which it shrinks. The gap between them keeps a change from
  // undoing itself.
  double high_ops_per_node = 4000;
  double low_ops_per_node = 1500;
  // The worst node's p99 latency above which the cluster grows; it shrinks
  // only while every node's p99 is below half of this.
  uint32_t high_p99_us = 50'000;
  // The mean share of its cores a node's process keeps busy above which the
  // cluster grows (0: CPU is not looked at); it shrinks only while the mean
  // with one node fewer stays below half of it. Off where the nodes share
  // one machine: another node there adds no core.
  double high_cpu_share = 0.8;
  // How long a condition must hold without a break before it counts.
  std::chrono::milliseconds out_window{std::chrono::seconds{60}};
  std::chrono::milliseconds in_window{std::chrono::minutes{5}};
  // Nothing is decided for this long after a decision.
  std::chrono::milliseconds cooldown{std::chrono::minutes{5}};
  // A cluster that grew shrinks only once its total rate is below this
  // share of the rate it grew at...
  double shrink_below_grown_share = 0.8;
  // ...for this long after the grow (the rate it grew at is held by the
  // deciding node only; another decider starts without it).
  std::chrono::milliseconds grown_memory{std::chrono::hours{1}};
  // Which node a shrink takes out: false, the one with the least data (its
  // departure moves least); true, the newest by id (n10 after n9), for
  // provisioners that can only remove their last node (a Kubernetes
  // StatefulSet removes its highest ordinal).
  bool shrink_newest = false;
};

// One node as the decider sees it.
struct node_sample {
  std::string node_id;
  bool up = true;
  double ops_per_s = 0;
  uint32_t p99_us = 0;
  double cpu_share = 0;    // of the cores its process may use, 0..1
  uint64_t data_bytes = 0; // what its departure would move
};

// One decision and what became of it.
struct autoscale_event {
  uint64_t wall_ms = 0;  // when it was decided
  std::string action;    // "grow" or "shrink"
  std::string node;      // shrink: the node that leaves
  std::string reason;    // the policy's one line
  std::string outcome;   // "in progress", "done ...", "failed: ..."
};

// What a node's autoscaler reports (kvsh `autoscale`).
struct autoscale_status {
  std::string node_id;   // the node that answers
  std::string decider;   // the node that decides ("" when none is known)
  bool paused = false;
  std::string provisioner; // the command run for a decision; "" advises only
  scaling_targets targets;
  std::vector<node_sample> load; // the ring's members at the last sample
  std::string state;     // the action in progress, or why nothing happens
  std::vector<autoscale_event> decisions; // the latest last
};

} // namespace kv
