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

#include "messages/autoscale.hpp"

namespace kv {

// Whether node id `a` comes after `b` counting a trailing number as a
// number: n10 after n9, kv-2 after kv-1 (else plain text order).
bool numbered_after(const std::string& a, const std::string& b);

// Why targets are unusable, if they are (one line).
std::optional<std::string> targets_problem(const scaling_targets& t);

// The cluster at one moment.
struct cluster_sample {
  uint64_t now_ms = 0; // steady time
  std::vector<node_sample> nodes; // the ring's members
  // A change in transfer (or draining), a member not up, or a node this
  // one cannot reach: nothing is decided meanwhile.
  bool ring_changing = false;
  std::string unsettled; // why, when known (for the log and kvsh)
  // A node a shrink never takes out: the deciding one, which sees the
  // departure through to the end.
  std::string keep;
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
