#pragma once

// The node's HTTP port: /metrics in the Prometheus text format and / as a
// status page for people. A broker of CAF's own I/O, so it stays one actor
// graph with the node. Every request is untrusted: its head is bounded
// (8 KiB), a client gets `request_timeout` to send it, at most
// `max_connections` are open at once, and each connection serves one
// request and closes.

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "messages/interfaces.hpp"

namespace kv {

struct status_server_settings {
  std::string host = "127.0.0.1";
  uint16_t port = 0; // 0: a free one
  coordinator_actor coordinator; // members and ring
  node_monitor_actor monitor;    // the node's figures
  std::size_t max_connections = 64;
  std::chrono::milliseconds request_timeout{10'000};
};

struct status_server {
  caf::actor broker;
  uint16_t port = 0;
};

// Starts the server on host:port; an error when the port cannot be opened.
caf::expected<status_server>
spawn_status_server(caf::actor_system& sys, status_server_settings settings);

} // namespace kv
