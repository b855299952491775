#pragma once

// A node's client port: the client gateway (client_gateway.hpp) in an actor
// system of its own, published at host:port. With TLS that system presents
// the node's certificate and accepts only certificates of the client CA, so
// a client certificate opens this port and no other.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/security/tls_files.hpp"
#include "messages/interfaces.hpp"

namespace kv {

struct client_port_settings {
  std::string host = "127.0.0.1";
  uint16_t port = 0; // 0: any free port
  // ca: the client CA; cert and key: the node's own. None: plain TCP.
  tls_files tls;
  // How long the gateway waits for the coordinator (its longest request
  // timeout and a margin).
  std::chrono::milliseconds reply_limit{std::chrono::minutes{11}};
};

class client_port {
public:
  // Throws std::runtime_error with a one-line reason (port taken, bad
  // files).
  static std::unique_ptr<client_port> open(const client_port_settings& settings,
                                           client_actor coordinator);

  // Stops the gateway: clients get no more answers; the port closes with
  // the actor system (the destructor, or the process).
  void close();

  ~client_port();

  client_port(const client_port&) = delete;
  client_port& operator=(const client_port&) = delete;

  uint16_t port() const { return port_; }

private:
  client_port() = default;

  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  client_actor gateway_;
  uint16_t port_ = 0;
};

} // namespace kv
