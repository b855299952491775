#include "actors/broker_port.hpp"

#include <chrono>

#include <caf/all.hpp>

namespace kv {

caf::expected<uint16_t> open_broker_port(caf::actor_system& sys,
                                         const caf::actor& broker) {
  caf::expected<uint16_t> result{caf::sec::request_timeout};
  caf::scoped_actor self{sys};
  self->request(broker, std::chrono::seconds{5}, open_atom::value)
    .receive([&](uint16_t port) { result = port; },
             [&](caf::error& err) {
               caf::anon_send_exit(broker, caf::exit_reason::user_shutdown);
               result = std::move(err);
             });
  return result;
}

} // namespace kv
