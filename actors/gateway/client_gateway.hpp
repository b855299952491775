#pragma once

// The one actor of a node that clients reach (its client port). It serves
// put/get/delete and the read-only views by asking the node's coordinator,
// and refuses the operator commands. It lives in an actor system of its
// own, whose TLS trusts the client CA: a client certificate opens the
// client port and nothing else, and no handle of a store, gossiper or hint
// buffer ever goes out through it (the cluster port, whose TLS trusts only
// the cluster CA, is where nodes and operators talk).

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "messages/interfaces.hpp"

namespace kv {

struct client_gateway_settings {
  client_actor coordinator;
  // How long a forwarded request may wait for the coordinator's reply: the
  // node's longest request timeout and a margin (the coordinator answers
  // every request by its deadline).
  std::chrono::milliseconds reply_limit{std::chrono::minutes{11}};
  // Requests in flight at once, of all clients and of one client process,
  // and the bytes of values they carry; beyond any of them a request is
  // refused at once (`unavailable`) instead of queueing without bound, and
  // one client cannot take every slot.
  uint32_t max_in_flight = 20'000;
  uint32_t max_in_flight_per_client = 2'000;
  uint64_t max_bytes_in_flight = uint64_t{256} << 20;
};

// Spawns the gateway in `client_sys` (not the node's own actor system).
client_actor spawn_client_gateway(caf::actor_system& client_sys,
                                  client_gateway_settings settings);

} // namespace kv
