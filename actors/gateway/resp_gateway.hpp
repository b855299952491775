#pragma once

// The node's Redis port (--resp-port): any Redis client, redis-cli and
// redis-benchmark use the cluster through it. A broker of CAF's own I/O, so
// it stays one actor graph with the node: each command becomes a request
// to this node's coordinator, and replies go back in command order.
// What each command means is in docs/redis.md.
//
// Everything a client sends is untrusted: a command is bounded
// (resp::reader_limits), a connection has at most `max_pipeline` commands
// in flight and `max_unsent_bytes` of replies it has not taken before the
// gateway stops running its commands, `max_unread_bytes` of commands not
// yet run before it is cut off, and at most `max_connections` are open at
// once. A protocol error is answered and the connection closed
// (the stream cannot be resynchronised); an unknown command is only
// answered.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "messages/interfaces.hpp"

namespace kv {

struct resp_gateway_settings {
  std::string host = "127.0.0.1";
  uint16_t port = 0; // 0: a free one
  coordinator_actor coordinator;
  node_monitor_actor monitor; // INFO and DBSIZE figures
  // AUTH's password (redis-server's requirepass); empty: none asked.
  std::string password;
  std::size_t max_connections = 10'000;
  std::size_t max_pipeline = 1024;
  std::size_t max_unsent_bytes = 8 * 1024 * 1024;
  // Bytes received and not yet run, per connection and over all of them:
  // beyond either the connection is answered an error and closed.
  std::size_t max_unread_bytes = 64 * 1024 * 1024;
  std::size_t max_unread_total = 1024 * 1024 * 1024;
  // Values (and keys) in flight to the coordinator, over all connections:
  // beyond it commands are answered -TRYAGAIN.
  std::size_t max_bytes_in_flight = 256 * 1024 * 1024;
  // Requests to the coordinator not yet answered, over all connections
  // (each connection: at most max_pipeline).
  std::size_t max_requests_in_flight = 20'000;
  // The largest value a command may carry (the node's max_value_bytes).
  std::size_t max_value_bytes = 1024 * 1024;
  // How long the gateway waits for the coordinator, which answers every
  // request within its own timeout.
  std::chrono::milliseconds reply_limit{15'000};
};

struct resp_gateway {
  caf::actor broker;
  uint16_t port = 0;
};

// Starts the gateway on host:port; an error when the port cannot be opened.
caf::expected<resp_gateway>
spawn_resp_gateway(caf::actor_system& sys, resp_gateway_settings settings);

} // namespace kv
