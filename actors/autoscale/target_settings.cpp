#include "actors/autoscale/target_settings.hpp"

#include <cmath>
#include <limits>

#include "actors/autoscale/scaling_policy.hpp"

namespace kv {

namespace {

using std::chrono::milliseconds;

uint64_t seconds_of(milliseconds d) {
  return static_cast<uint64_t>(d.count() / 1000);
}

uint64_t rounded(double x) {
  return static_cast<uint64_t>(std::llround(x));
}

} // namespace

const std::vector<target_setting>& target_settings() {
  static const std::vector<target_setting> all{
    {"min", "never fewer nodes (nor fewer than N)"},
    {"max", "never more nodes"},
    {"high-ops", "grow above this many requests/s per node"},
    {"low-ops", "shrink below this many requests/s per node with one fewer"},
    {"high-p99-ms", "grow while the worst node's p99 is above this (ms)"},
    {"high-cpu-pct", "grow above this mean CPU (% of a node's cores; 0: off)"},
    {"out-window-s", "how long a grow condition must hold (s)"},
    {"in-window-s", "how long a shrink condition must hold (s)"},
    {"cooldown-s", "no decision for this long after one (s)"},
    {"grown-share-pct",
     "after a grow, shrink only below this % of the rate it grew at"},
    {"grown-memory-s", "...for this long after the grow (s)"},
    {"shrink-newest",
     "1: a shrink takes the newest node (highest number) out, not the one "
     "with the least data"},
  };
  return all;
}

std::optional<uint64_t> get_target(const scaling_targets& t,
                                   std::string_view name) {
  if (name == "min")
    return t.min_nodes;
  if (name == "max")
    return t.max_nodes;
  if (name == "high-ops")
    return rounded(t.high_ops_per_node);
  if (name == "low-ops")
    return rounded(t.low_ops_per_node);
  if (name == "high-p99-ms")
    return t.high_p99_us / 1000;
  if (name == "high-cpu-pct")
    return rounded(t.high_cpu_share * 100);
  if (name == "out-window-s")
    return seconds_of(t.out_window);
  if (name == "in-window-s")
    return seconds_of(t.in_window);
  if (name == "cooldown-s")
    return seconds_of(t.cooldown);
  if (name == "grown-share-pct")
    return rounded(t.shrink_below_grown_share * 100);
  if (name == "grown-memory-s")
    return seconds_of(t.grown_memory);
  if (name == "shrink-newest")
    return t.shrink_newest ? 1 : 0;
  return std::nullopt;
}

namespace {

// Sets one field of `next`; a problem only for an unknown name or a value
// no unit conversion can hold (the whole is checked by the caller).
std::optional<std::string> assign(scaling_targets& next, std::string_view name,
                                  uint64_t value) {
  // Far above any sensible bound, low enough that no unit conversion
  // overflows.
  constexpr uint64_t largest = 1'000'000'000;
  if (value > largest)
    return std::string{name} + " " + std::to_string(value) + " is too large";
  auto u32 = static_cast<uint32_t>(value);
  auto seconds = milliseconds{static_cast<int64_t>(value) * 1000};
  if (name == "min")
    next.min_nodes = u32;
  else if (name == "max")
    next.max_nodes = u32;
  else if (name == "high-ops")
    next.high_ops_per_node = static_cast<double>(value);
  else if (name == "low-ops")
    next.low_ops_per_node = static_cast<double>(value);
  else if (name == "high-p99-ms") {
    if (value > std::numeric_limits<uint32_t>::max() / 1000)
      return std::string{"high-p99-ms is too large"};
    next.high_p99_us = u32 * 1000;
  } else if (name == "high-cpu-pct")
    next.high_cpu_share = static_cast<double>(value) / 100;
  else if (name == "out-window-s")
    next.out_window = seconds;
  else if (name == "in-window-s")
    next.in_window = seconds;
  else if (name == "cooldown-s")
    next.cooldown = seconds;
  else if (name == "grown-share-pct")
    next.shrink_below_grown_share = static_cast<double>(value) / 100;
  else if (name == "grown-memory-s")
    next.grown_memory = seconds;
  else if (name == "shrink-newest") {
    if (value > 1)
      return std::string{"shrink-newest is 0 or 1"};
    next.shrink_newest = value == 1;
  }
  else {
    std::string names;
    for (auto& s : target_settings())
      names += (names.empty() ? "" : ", ") + std::string{s.name};
    return "unknown bound '" + std::string{name} + "' (one of " + names + ")";
  }
  return std::nullopt;
}

} // namespace

std::optional<std::string> set_targets(
  scaling_targets& t,
  const std::vector<std::pair<std::string, uint64_t>>& values) {
  auto next = t;
  std::string what;
  for (auto& [name, value] : values) {
    if (auto problem = assign(next, name, value))
      return problem;
    what += (what.empty() ? "" : ", ") + name + " " + std::to_string(value);
  }
  if (auto problem = targets_problem(next))
    return what + ": " + *problem;
  t = next;
  return std::nullopt;
}

std::optional<std::string> set_target(scaling_targets& t, std::string_view name,
                                      uint64_t value) {
  return set_targets(t, {{std::string{name}, value}});
}

std::string describe_targets(const scaling_targets& t) {
  std::string out;
  for (auto& s : target_settings())
    out += (out.empty() ? "" : " ") + std::string{s.name} + "="
           + std::to_string(*get_target(t, s.name));
  return out;
}

} // namespace kv
