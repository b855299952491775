#include "apps/client/kv_client.hpp"

#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

namespace kv {

client_config::client_config() {
  load<caf::io::middleman>();
  register_message_types(*this);
  // A connection whose node vanished (host gone, cut link) looks open until
  // TCP gives up; with heartbeats the middleman drops it within seconds, so
  // requests fail fast and the next connect makes a new connection instead
  // of reusing the dead one.
  set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds{1}});
  set("middleman.connection-timeout", caf::timespan{std::chrono::seconds{5}});
}

caf::expected<coordinator_actor>
connect_to_node(caf::actor_system& sys, const std::string& host, uint16_t port,
                std::chrono::milliseconds limit) {
  caf::expected<coordinator_actor> result{caf::sec::request_timeout};
  caf::scoped_actor self{sys};
  self
    ->request(sys.middleman().actor_handle(), limit, caf::connect_atom::value,
              host, port)
    .receive(
      [&](const caf::node_id&, caf::strong_actor_ptr& hdl,
          const std::set<std::string>& ifs) {
        if (!hdl)
          result = caf::make_error(caf::sec::no_actor_published_at_port);
        else if (!sys.assignable<coordinator_actor>(ifs))
          result = caf::make_error(
            caf::sec::unexpected_actor_messaging_interface);
        else
          result = caf::actor_cast<coordinator_actor>(std::move(hdl));
      },
      [&](caf::error& err) { result = std::move(err); });
  return result;
}

blocking_client::blocking_client(caf::actor_system& sys, coordinator_actor node)
  : sys_(sys), node_(std::move(node)) {
  // nop
}

std::chrono::milliseconds
blocking_client::wait_limit(const request_options& opts) const {
  // The coordinator answers by the request timeout; the margin covers the
  // network and a node that uses its own (possibly larger) default.
  // 64-bit: timeout_ms + 2000 wrapped around in 32 bits.
  uint64_t request_ms = opts.timeout_ms != 0 ? opts.timeout_ms : 30000u;
  return std::chrono::milliseconds{request_ms + 2000};
}

namespace {

template <class Result, class... Ts>
caf::expected<Result> ask(caf::actor_system& sys, const coordinator_actor& node,
                          std::chrono::milliseconds limit, Ts&&... xs) {
  caf::scoped_actor self{sys};
  caf::expected<Result> result{caf::sec::request_timeout};
  self->request(node, limit, std::forward<Ts>(xs)...)
    .receive([&](Result& r) { result = std::move(r); },
             [&](caf::error& err) { result = std::move(err); });
  return result;
}

using owner_counts = std::vector<std::pair<std::string, uint64_t>>;

caf::expected<owner_counts> ask_hints(caf::actor_system& sys,
                                      const coordinator_actor& node,
                                      std::chrono::milliseconds limit) {
  caf::scoped_actor self{sys};
  caf::expected<owner_counts> result{caf::sec::request_timeout};
  self->request(node, limit, get_atom::value, hint_atom::value)
    .receive(
      [&](std::vector<std::string>& owners, std::vector<uint64_t>& counts) {
        owner_counts pairs;
        for (std::size_t i = 0; i < owners.size() && i < counts.size(); ++i)
          pairs.emplace_back(std::move(owners[i]), counts[i]);
        result = std::move(pairs);
      },
      [&](caf::error& err) { result = std::move(err); });
  return result;
}

} // namespace

caf::expected<put_result> blocking_client::put(const std::string& key,
                                               const std::string& value,
                                               const vector_clock& context,
                                               const request_options& opts) {
  return ask<put_result>(sys_, node_, wait_limit(opts), put_atom::value, key,
                         value, context, opts);
}

caf::expected<get_result> blocking_client::get(const std::string& key,
                                               const request_options& opts) {
  return ask<get_result>(sys_, node_, wait_limit(opts), get_atom::value, key,
                         opts);
}

caf::expected<put_result> blocking_client::remove(const std::string& key,
                                                  const vector_clock& context,
                                                  const request_options& opts) {
  return ask<put_result>(sys_, node_, wait_limit(opts), delete_atom::value,
                         key, context, opts);
}

caf::expected<std::vector<std::pair<std::string, uint64_t>>>
blocking_client::pending_hints() {
  return ask_hints(sys_, node_, wait_limit({}));
}

caf::expected<reap_status> blocking_client::reaping() {
  return ask<reap_status>(sys_, node_, wait_limit({}), get_atom::value,
                          reap_atom::value);
}

caf::expected<std::vector<aae_partition>> blocking_client::anti_entropy() {
  return ask<std::vector<aae_partition>>(sys_, node_, wait_limit({}),
                                         get_atom::value, aae_atom::value);
}

caf::expected<std::string> blocking_client::repair(const std::string& node_id) {
  return ask<std::string>(sys_, node_, wait_limit({}), repair_atom::value,
                          node_id);
}

caf::expected<sibling_list>
blocking_client::local_versions(const std::string& key) {
  return ask<sibling_list>(sys_, node_, wait_limit({}), read_atom::value, key);
}

caf::expected<std::vector<member_info>> blocking_client::members() {
  return ask<std::vector<member_info>>(sys_, node_, wait_limit({}),
                                       get_atom::value, members_atom::value);
}

caf::expected<std::vector<std::string>>
blocking_client::preference_list(const std::string& key, uint32_t n) {
  return ask<std::vector<std::string>>(sys_, node_, wait_limit({}),
                                       get_atom::value, ring_atom::value, key,
                                       n);
}

caf::expected<ring_state> blocking_client::ring() {
  return ask<ring_state>(sys_, node_, wait_limit({}), get_atom::value,
                         ring_atom::value);
}

caf::expected<std::string> blocking_client::leave() {
  return ask<std::string>(sys_, node_, wait_limit({}), leave_atom::value);
}

caf::expected<std::string>
blocking_client::remove_node(const std::string& node_id) {
  return ask<std::string>(sys_, node_, wait_limit({}), remove_atom::value,
                          node_id);
}

caf::expected<std::string>
blocking_client::replace_node(const std::string& old_id,
                              const std::string& new_id) {
  return ask<std::string>(sys_, node_, wait_limit({}), replace_atom::value,
                          old_id, new_id);
}

} // namespace kv
