#include "actors/peer_connector.hpp"

#include <map>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/tcp_probe.hpp"
#include "messages/caf_types.hpp"

namespace kv {

std::chrono::milliseconds connect_limit(const peer_connector_settings& s) {
  // The probes queued ahead of this one, at most a few, plus this one.
  return s.probe_limit * 4 + s.handshake_limit;
}

namespace {

using endpoint = std::pair<std::string, uint16_t>;
using coordinator_promise = caf::typed_response_promise<coordinator_actor>;

struct peer_connector_state {
  peer_connector_settings settings;
  // Callers waiting for the middleman's handshake with an endpoint.
  std::map<endpoint, std::vector<coordinator_promise>> waiting;

  static inline const char* name = "peer_connector";

  template <class T>
  void finish(const endpoint& where, T&& outcome) {
    auto i = waiting.find(where);
    if (i == waiting.end())
      return;
    for (auto& promise : i->second)
      promise.deliver(outcome);
    waiting.erase(i);
  }
};

using connector_pointer
  = peer_connector_actor::stateful_pointer<peer_connector_state>;

std::string spelled(const endpoint& where) {
  return where.first + ":" + std::to_string(where.second);
}

peer_connector_actor::behavior_type
peer_connector(connector_pointer self, peer_connector_settings settings) {
  self->state.settings = settings;
  return {
    [=](caf::connect_atom, std::string& host,
        uint16_t port) -> caf::result<coordinator_actor> {
      auto& st = self->state;
      endpoint where{std::move(host), port};
      auto promise = self->make_response_promise<coordinator_actor>();
      auto known = st.waiting.find(where);
      if (known != st.waiting.end()) {
        known->second.push_back(promise);
        return promise;
      }
      // Blocks this actor's own thread for at most probe_limit.
      auto problem = tcp_connect_problem(where.first, where.second,
                                         st.settings.probe_limit);
      if (!problem.empty()) {
        promise.deliver(make_kv_error(kv_errc::unavailable,
                                      "cannot reach " + spelled(where) + ": "
                                        + problem));
        return promise;
      }
      st.waiting[where].push_back(promise);
      auto& sys = self->system();
      self
        ->request(sys.middleman().actor_handle(), st.settings.handshake_limit,
                  caf::connect_atom::value, where.first, where.second)
        .then(
          [=, &sys](const caf::node_id&, caf::strong_actor_ptr& ptr,
                    const std::set<std::string>& ifs) {
            if (!ptr || !sys.assignable<coordinator_actor>(ifs)) {
              self->state.finish(
                where, make_kv_error(kv_errc::unavailable,
                                     spelled(where)
                                       + " is not a kvactors node"));
              return;
            }
            self->state.finish(where,
                               caf::actor_cast<coordinator_actor>(ptr));
          },
          [=](caf::error& err) {
            self->state.finish(where,
                               make_kv_error(kv_errc::unavailable,
                                             "cannot connect to "
                                               + spelled(where) + ": "
                                               + describe(err)));
          });
      return promise;
    },
  };
}

} // namespace

peer_connector_actor spawn_peer_connector(caf::actor_system& sys,
                                          peer_connector_settings settings) {
  return sys.spawn<caf::detached>(peer_connector, settings);
}

} // namespace kv
