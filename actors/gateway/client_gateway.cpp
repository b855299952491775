#include "actors/gateway/client_gateway.hpp"

#include <map>
#include <optional>
#include <string>

#include <caf/all.hpp>

#include "messages/caf_types.hpp"

namespace kv {

namespace {

struct gateway_state {
  client_gateway_settings settings;
  uint32_t in_flight = 0;
  uint64_t bytes_in_flight = 0;
  std::map<caf::node_id, uint32_t> in_flight_by_client;
  static inline const char* name = "client_gateway";

  // Why a request of `client` carrying `bytes` must wait, if it must.
  std::optional<std::string> full(const caf::node_id& client,
                                  uint64_t bytes) const {
    auto mine = in_flight_by_client.find(client);
    if (in_flight >= settings.max_in_flight)
      return "this node has " + std::to_string(in_flight)
             + " client requests in flight";
    if (mine != in_flight_by_client.end()
        && mine->second >= settings.max_in_flight_per_client)
      return "this client has " + std::to_string(mine->second)
             + " requests in flight here";
    if (bytes_in_flight + bytes > settings.max_bytes_in_flight)
      return "this node holds " + std::to_string(bytes_in_flight >> 20)
             + " MiB of client values in flight";
    return std::nullopt;
  }

  void started(const caf::node_id& client, uint64_t bytes) {
    ++in_flight;
    ++in_flight_by_client[client];
    bytes_in_flight += bytes;
  }

  void ended(const caf::node_id& client, uint64_t bytes) {
    --in_flight;
    bytes_in_flight -= bytes;
    auto mine = in_flight_by_client.find(client);
    if (--mine->second == 0)
      in_flight_by_client.erase(mine);
  }
};

using gateway_pointer = client_actor::stateful_pointer<gateway_state>;

// Asks the coordinator and hands its reply (or error) back to the client;
// `bytes`: what the request carries (a put's value). The gateway never
// delegates: the coordinator's reply must come back to this actor system,
// whose connections are the clients'.
template <class... Replies, class... Ts>
caf::result<Replies...> forward(gateway_pointer self, uint64_t bytes,
                                Ts&&... xs) {
  auto& st = self->state;
  auto& sender = self->current_sender();
  auto client = sender ? sender->node() : caf::node_id{};
  if (auto why = st.full(client, bytes))
    return make_kv_error(kv_errc::unavailable, *why + "; retry later");
  st.started(client, bytes);
  auto promise = self->template make_response_promise<Replies...>();
  self
    ->request(st.settings.coordinator, st.settings.reply_limit,
              std::forward<Ts>(xs)...)
    .then(
      [=](Replies&... replies) mutable {
        self->state.ended(client, bytes);
        promise.deliver(std::move(replies)...);
      },
      [=](caf::error& err) mutable {
        self->state.ended(client, bytes);
        promise.deliver(std::move(err));
      });
  return promise;
}

caf::error operator_only(const char* command) {
  return make_kv_error(kv_errc::not_authorized,
                       std::string{command}
                         + " is an operator command: give kvsh an operator "
                           "certificate (cluster CA) and the node's cluster "
                           "port, not its client port");
}

client_actor::behavior_type gateway(gateway_pointer self,
                                    client_gateway_settings settings) {
  self->state.settings = std::move(settings);
  return {
    [=](put_atom a, std::string& key, std::string& value,
        vector_clock& context, request_options& opts) {
      uint64_t bytes = key.size() + value.size();
      return forward<put_result>(self, bytes, a, std::move(key),
                                 std::move(value), std::move(context), opts);
    },
    [=](get_atom a, std::string& key, request_options& opts) {
      return forward<get_result>(self, key.size(), a, std::move(key), opts);
    },
    [=](delete_atom a, std::string& key, vector_clock& context,
        request_options& opts) {
      return forward<put_result>(self, key.size(), a, std::move(key),
                                 std::move(context), opts);
    },
    [=](get_atom a, members_atom b) {
      return forward<std::vector<member_info>>(self, 0, a, b);
    },
    [=](get_atom a, ring_atom b, std::string& key, uint32_t n) {
      return forward<std::vector<std::string>>(self, 0, a, b, std::move(key),
                                               n);
    },
    [=](get_atom a, ring_atom b) {
      return forward<ring_state>(self, 0, a, b);
    },
    [=](get_atom a, hint_atom b) {
      return forward<std::vector<std::string>, std::vector<uint64_t>>(
        self, 0, a, b);
    },
    [=](get_atom a, aae_atom b) {
      return forward<std::vector<aae_partition>>(self, 0, a, b);
    },
    [=](get_atom a, reap_atom b) {
      return forward<reap_status>(self, 0, a, b);
    },
    [=](get_atom a, stats_atom b) {
      return forward<node_stats>(self, 0, a, b);
    },
    // This node's view only: following the decider would have another
    // node's coordinator reply to this system, which has no route to it.
    [=](get_atom a, autoscale_atom b, bool) {
      return forward<autoscale_status>(self, 0, a, b, false);
    },
    [=](read_atom a, std::string& key) {
      return forward<sibling_list>(self, 0, a, std::move(key));
    },
    [=](leave_atom) -> caf::result<std::string> {
      return operator_only("leave");
    },
    [=](join_atom, const std::string&, uint16_t) -> caf::result<std::string> {
      return operator_only("join");
    },
    [=](remove_atom, const std::string&) -> caf::result<std::string> {
      return operator_only("remove");
    },
    [=](replace_atom, const std::string&,
        const std::string&) -> caf::result<std::string> {
      return operator_only("replace");
    },
    [=](repair_atom, const std::string&) -> caf::result<std::string> {
      return operator_only("repair");
    },
    [=](autoscale_atom, const std::string&, const std::string&,
        bool) -> caf::result<std::string> {
      return operator_only("autoscale pause, resume and set");
    },
  };
}

} // namespace

client_actor spawn_client_gateway(caf::actor_system& client_sys,
                                  client_gateway_settings settings) {
  return client_sys.spawn(gateway, std::move(settings));
}

} // namespace kv
