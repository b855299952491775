#pragma once

// The autoscaler's bounds by name, as whole numbers: one table for kvnode's
// --autoscale-NAME flags and kvsh `autoscale set NAME VALUE`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "messages/autoscale.hpp"

namespace kv {

struct target_setting {
  const char* name; // e.g. "high-ops"
  const char* help; // one line, with the unit
};

// Every settable bound, in the order kvsh shows them.
const std::vector<target_setting>& target_settings();

// The bound's value in its unit (nullopt: no such name).
std::optional<uint64_t> get_target(const scaling_targets& t,
                                   std::string_view name);

// Sets one bound; a one-line problem (unknown name, value out of range, or
// bounds that no longer fit together) leaves `t` as it was.
std::optional<std::string> set_target(scaling_targets& t, std::string_view name,
                                      uint64_t value);

// Several at once, checked together (their order does not matter).
std::optional<std::string> set_targets(
  scaling_targets& t,
  const std::vector<std::pair<std::string, uint64_t>>& values);

// All bounds as "name=value name=value ...".
std::string describe_targets(const scaling_targets& t);

} // namespace kv
