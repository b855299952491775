#pragma once

// When the cluster should grow or shrink, decided from the load every node
// gossips (member_info::load). Plain C++ with no clock of its own: the
// autoscaler feeds it samples with their time, so the rules are tested over
// synthetic load traces (docs/autoscaling.md).

#include <chrono>
#include <cstdint>
#include <optional>
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
  // How long a condition must hold without a break before it counts.
  std::chrono::milliseconds out_window{std::chrono::seconds{60}};
  std::chrono::milliseconds in_window{std::chrono::minutes{5}};
  // Nothing is decided for this long after a decision.
  std::chrono::milliseconds cooldown{std::chrono::minutes{5}};
  // A cluster that grew shrinks only once its total rate is below this
  // share of the rate it grew at.
  double shrink_below_grown_share = 0.8;
  // ...for this long after the grow (the rate it grew at is held by the
  // deciding node only; another decider starts without it).
  std::chrono::milliseconds grown_memory{std::chrono::hours{1}};
};

// Why targets are unusable, if they are (one line).
std::optional<std::string> targets_problem(const scaling_targets& t);

// One node as the decider sees it.
struct node_sample {
  std::string node_id;
  bool up = true;
  double ops_per_s = 0;
  uint32_t p99_us = 0;
  uint64_t data_bytes = 0; // what its departure would move
};

// The cluster at one moment.
struct cluster_sample {
  uint64_t now_ms = 0; // steady time
  std::vector<node_sample> nodes; // the ring's members
  // A change in transfer (or draining), a member not up, or a node this
  // one cannot reach: nothing is decided meanwhile.
  bool ring_changing = false;
};

enum class scale_action { none, grow, shrink };

const char* to_string(scale_action x);

struct scaling_decision {
  scale_action action = scale_action::none;
  std::string node;   // shrink: the node to take out
  std::string reason; // one line, for the log and kvsh `autoscale`
};

class scaling_policy {
public:
  explicit scaling_policy(scaling_targets targets);

  // Takes one sample; a decision other than `none` starts the cooldown and
  // the windows again (the caller carries it out). A window holds only over
  // samples at most a tenth of it (and at least 5 s) apart, with time moving
  // forward: a decider that stopped deciding for a while starts its windows
  // again.
  scaling_decision observe(const cluster_sample& sample);

  const scaling_targets& targets() const { return targets_; }
  void set_targets(const scaling_targets& targets) { targets_ = targets; }

private:
  scaling_decision wait(std::string reason);

  scaling_targets targets_;
  std::optional<uint64_t> hot_since_;  // grow condition held since
  std::optional<uint64_t> cold_since_; // shrink condition held since
  std::optional<uint64_t> last_decision_ms_;
  std::optional<uint64_t> last_sample_ms_;
  // The cluster's total rate when it last grew: it shrinks back only once
  // the load is clearly below that (a grow for latency at a low rate would
  // otherwise be undone as soon as the latency recovered).
  std::optional<double> total_at_last_grow_;
  uint64_t grown_until_ = 0; // that rate counts until then
};

} // namespace kv
