#pragma once

#include <chrono>

#include <caf/actor_system.hpp>

#include "messages/interfaces.hpp"

namespace kv {

struct peer_connector_settings {
  // How long the plain TCP probe may wait for a SYN-ACK: the longest a
  // black-holed address holds up the connector (and only the connector).
  std::chrono::milliseconds probe_limit{1000};
  // How long the middleman may take for CAF's handshake after the probe got
  // through (a paused peer accepts TCP but answers nothing).
  std::chrono::milliseconds handshake_limit{3000};
};

// The longest a caller may have to wait for a connector's answer.
std::chrono::milliseconds connect_limit(const peer_connector_settings& s);

// Spawns the node's connector. Its probes are non-blocking connects polled
// together, so any number of black-holed addresses cost each caller at most
// probe_limit. Requests for an address already being connected share that
// attempt, and a failed address is answered from memory for half a second.
peer_connector_actor spawn_peer_connector(caf::actor_system& sys,
                                          peer_connector_settings settings);

} // namespace kv
