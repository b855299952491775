#include "actors/autoscale/scaling_policy.hpp"

#include <algorithm>
#include <cstdio>
#include <tuple>

namespace kv {

namespace {

std::string number(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0f", x);
  return text;
}

std::string seconds(std::chrono::milliseconds d) {
  return std::to_string(d.count() / 1000) + " s";
}

} // namespace

bool numbered_after(const std::string& a, const std::string& b) {
  // Split off the trailing digits: "kv-10" is ("kv-", 10).
  auto split = [](const std::string& id) {
    auto digits = id.find_last_not_of("0123456789") + 1;
    auto number = id.substr(digits);
    // Leading zeros do not count; longer runs of digits are larger.
    number.erase(0, std::min(number.find_first_not_of('0'), number.size()));
    return std::make_tuple(id.substr(0, digits), number.size(), number);
  };
  return split(a) > split(b);
}

const char* to_string(scale_action x) {
  switch (x) {
    case scale_action::grow:
      return "grow";
    case scale_action::shrink:
      return "shrink";
    default:
      return "none";
  }
}

std::optional<std::string> targets_problem(const scaling_targets& t) {
  if (t.min_nodes == 0 || t.min_nodes > t.max_nodes)
    return std::string{"the minimum must be 1 or more and at most the maximum"};
  if (t.max_nodes > 1000)
    return std::string{"a maximum above 1000 nodes"};
  if (t.replication == 0 || t.replication > t.max_nodes)
    return std::string{"the replication factor must fit the maximum"};
  if (!(t.low_ops_per_node >= 0) || !(t.high_ops_per_node > t.low_ops_per_node))
    return std::string{"the low rate must be below the high rate"};
  if (!(t.high_cpu_share >= 0) || t.high_cpu_share > 1)
    return std::string{"the CPU share must be in [0, 1] (0: off)"};
  if (t.high_p99_us == 0)
    return std::string{"a p99 target of 0"};
  if (t.out_window.count() < 0 || t.in_window.count() < 0
      || t.cooldown.count() < 0)
    return std::string{"a negative window or cooldown"};
  if (!(t.shrink_below_grown_share > 0) || t.shrink_below_grown_share > 1)
    return std::string{"the share of the grown-at rate must be in (0, 1]"};
  return std::nullopt;
}

scaling_policy::scaling_policy(scaling_targets targets)
  : targets_(std::move(targets)) {}

scaling_decision scaling_policy::wait(std::string reason) {
  return scaling_decision{scale_action::none, {}, std::move(reason)};
}

scaling_decision scaling_policy::observe(const cluster_sample& sample) {
  auto now = sample.now_ms;
  auto& t = targets_;
  auto max_gap = static_cast<uint64_t>(
    std::min(t.out_window, t.in_window).count() / 10);
  if (last_sample_ms_ && (now < *last_sample_ms_
                          || now - *last_sample_ms_
                               > std::max<uint64_t>(max_gap, 5000))) {
    hot_since_.reset();
    cold_since_.reset();
  }
  last_sample_ms_ = now;
  // Load read during a change (a transfer, a node down) is not what the
  // cluster will see after it: the windows start again afterwards.
  auto all_up = std::all_of(sample.nodes.begin(), sample.nodes.end(),
                            [](const node_sample& n) { return n.up; });
  if (sample.ring_changing || !all_up || sample.nodes.empty()) {
    hot_since_.reset();
    cold_since_.reset();
    return wait(sample.ring_changing ? (sample.unsettled.empty()
                                          ? "a ring change is in transfer"
                                          : sample.unsettled)
                : sample.nodes.empty() ? "no members known"
                                       : "a member is not up");
  }
  auto count = sample.nodes.size();
  double total = 0;
  double total_cpu = 0;
  uint32_t worst_p99 = 0;
  for (auto& n : sample.nodes) {
    total += n.ops_per_s;
    total_cpu += n.cpu_share;
    worst_p99 = std::max(worst_p99, n.p99_us);
  }
  auto with_one_fewer = [count](double sum) {
    return count > 1 ? sum / static_cast<double>(count - 1) : sum;
  };
  auto per_node = total / static_cast<double>(count);
  auto per_node_with_one_fewer = with_one_fewer(total);
  auto cpu = total_cpu / static_cast<double>(count);
  bool cpu_on = t.high_cpu_share > 0;
  bool hot = per_node > t.high_ops_per_node || worst_p99 > t.high_p99_us
             || (cpu_on && cpu > t.high_cpu_share);
  bool cold = !hot && per_node_with_one_fewer < t.low_ops_per_node
              && worst_p99 < t.high_p99_us / 2
              && (!cpu_on || with_one_fewer(total_cpu) < t.high_cpu_share / 2)
              && (!total_at_last_grow_ || now >= grown_until_
                  || total < *total_at_last_grow_ * t.shrink_below_grown_share);
  if (hot) {
    if (!hot_since_)
      hot_since_ = now;
  } else {
    hot_since_.reset();
  }
  if (cold) {
    if (!cold_since_)
      cold_since_ = now;
  } else {
    cold_since_.reset();
  }
  auto load = number(per_node) + " ops/s per node, worst p99 "
              + number(worst_p99 / 1000.0) + " ms"
              + (cpu_on ? ", CPU " + number(cpu * 100) + "%" : "");
  if (last_decision_ms_
      && now < *last_decision_ms_ + static_cast<uint64_t>(t.cooldown.count()))
    return wait("cooldown after the last change (" + seconds(t.cooldown)
                + "); " + load);
  auto held = [now](const std::optional<uint64_t>& since,
                    std::chrono::milliseconds window) {
    return since && now - *since >= static_cast<uint64_t>(window.count());
  };
  auto floor = std::max(t.min_nodes, t.replication);
  if (held(hot_since_, t.out_window)) {
    if (count >= t.max_nodes)
      return wait("above target but at the maximum of "
                  + std::to_string(t.max_nodes) + " nodes; " + load);
    last_decision_ms_ = now;
    hot_since_.reset();
    cold_since_.reset();
    total_at_last_grow_ = total;
    grown_until_ = now + static_cast<uint64_t>(t.grown_memory.count());
    return scaling_decision{
      scale_action::grow, {},
      load + " above target (" + number(t.high_ops_per_node) + " ops/s, p99 "
        + number(t.high_p99_us / 1000.0) + " ms"
        + (cpu_on ? ", CPU " + number(t.high_cpu_share * 100) + "%" : "")
        + ") for "
        + seconds(t.out_window)};
  }
  if (held(cold_since_, t.in_window)) {
    if (count <= floor)
      return wait("below target but at the floor of "
                  + std::to_string(floor) + " nodes; " + load);
    // The node whose departure moves least (the least data), or the
    // newest; ties go to the newest (the greatest id, as the scripts and a
    // StatefulSet number nodes).
    auto leaver = std::min_element(
      sample.nodes.begin(), sample.nodes.end(),
      [&](const node_sample& a, const node_sample& b) {
        if ((a.node_id == sample.keep) != (b.node_id == sample.keep))
          return b.node_id == sample.keep;
        if (!t.shrink_newest && a.data_bytes != b.data_bytes)
          return a.data_bytes < b.data_bytes;
        return numbered_after(a.node_id, b.node_id);
      });
    last_decision_ms_ = now;
    hot_since_.reset();
    cold_since_.reset();
    total_at_last_grow_.reset();
    return scaling_decision{
      scale_action::shrink, leaver->node_id,
      load + ": with one node fewer, " + number(per_node_with_one_fewer)
        + " ops/s per node, below " + number(t.low_ops_per_node) + " for "
        + seconds(t.in_window)};
  }
  if (hot_since_)
    return wait("above target for " + std::to_string((now - *hot_since_) / 1000)
                + " s of " + seconds(t.out_window) + "; " + load);
  if (cold_since_)
    return wait("below target for "
                + std::to_string((now - *cold_since_) / 1000) + " s of "
                + seconds(t.in_window) + "; " + load);
  return wait("within targets; " + load);
}

} // namespace kv
