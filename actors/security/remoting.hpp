#pragma once

// Where a node's or a client's connections and publications go: through
// CAF's TLS manager when the actor system loaded it (the node or client
// was given certificates), else through the plain middleman.

#include <cstdint>
#include <optional>
#include <string>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/sec.hpp>

#include "actors/security/tls_error_queue.hpp"
#include "actors/security/tls_files.hpp"
#include "messages/caf_types.hpp"

namespace kv {

// Makes an actor system speak TLS with these files (mutual: the peer must
// present a certificate from files.ca): copies made by checked_tls_copies,
// so that files changed on disk later cannot end the process. Before the
// system starts, after the middleman is loaded.
inline void apply_tls(caf::actor_system_config& cfg, const tls_files& copies) {
  require_tls_error_queue_fix();
  cfg.load<caf::openssl::manager>();
  cfg.openssl_cafile = copies.ca;
  cfg.openssl_certificate = copies.cert;
  cfg.openssl_key = copies.key;
}

inline caf::io::middleman_actor remoting_of(caf::actor_system& sys) {
  return sys.has_openssl_manager() ? sys.openssl_manager().actor_handle()
                                   : sys.middleman().actor_handle();
}

// Publishes `whom` (an actor of `sys`) at host:port (0: any free port).
template <class Handle>
caf::expected<uint16_t> publish_on(caf::actor_system& sys, const Handle& whom,
                                   uint16_t port, const std::string& host) {
  if (!sys.has_openssl_manager())
    return sys.middleman().publish(whom, port, host.c_str(), true);
  return caf::openssl::publish(sys,
                               caf::actor_cast<caf::strong_actor_ptr>(whom),
                               sys.message_types(whom), port, host.c_str(),
                               true);
}

// Why a connect failed, in words: with TLS, a handshake cut short is almost
// always a certificate the other side does not accept.
inline std::string describe_connect_error(caf::actor_system& sys,
                                          const caf::error& err) {
  if (err == caf::sec::disconnect_during_handshake)
    return sys.has_openssl_manager()
             ? "the TLS handshake failed: the other side refused this "
               "side's certificate, or its own is not from the CA this side "
               "trusts, or it does not use TLS"
             : "the connection closed during the handshake: does the other "
               "side use TLS (then give this side certificates)?";
  return describe(err);
}

} // namespace kv
