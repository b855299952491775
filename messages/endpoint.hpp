#pragma once

// host:port of a node: what seeds, clients and the shell are given.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kv {

struct endpoint {
  std::string host;
  uint16_t port = 0;

  // "host:port".
  std::string to_string() const;
};

// Parses "host:port,host:port" (empty items skipped); nullopt with `error`
// set if an item is malformed, naming it as `what` ("seed", "node").
std::optional<std::vector<endpoint>>
parse_endpoints(const std::string& text, const std::string& what,
                std::string& error);

} // namespace kv
