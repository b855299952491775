#include "apps/client/kv_client.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/membership/tcp_probe.hpp"
#include "actors/security/remoting.hpp"

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

std::optional<std::string> client_config::use_tls(const tls_files& files) {
  if (!files.any())
    return std::nullopt;
  std::string error;
  auto copies = checked_tls_copies(files, "client", "", error);
  if (!copies)
    return error;
  apply_tls(*this, *copies);
  return std::nullopt;
}

tls_files tls_files_from_env() {
  auto value = [](const char* name) {
    auto text = std::getenv(name);
    return std::string{text != nullptr ? text : ""};
  };
  return tls_files{value("KV_TLS_CA"), value("KV_TLS_CERT"),
                   value("KV_TLS_KEY")};
}

caf::expected<client_actor>
connect_to_node(caf::actor_system& sys, const std::string& host, uint16_t port,
                std::chrono::milliseconds limit) {
  caf::expected<client_actor> result{caf::sec::request_timeout};
  caf::scoped_actor self{sys};
  self
    ->request(remoting_of(sys), limit, caf::connect_atom::value,
              host, port)
    .receive(
      [&](const caf::node_id&, caf::strong_actor_ptr& hdl,
          const std::set<std::string>& ifs) {
        if (!hdl)
          result = caf::make_error(caf::sec::no_actor_published_at_port);
        else if (!sys.assignable<client_actor>(ifs))
          result = caf::make_error(
            caf::sec::unexpected_actor_messaging_interface);
        else
          result = caf::actor_cast<client_actor>(std::move(hdl));
      },
      [&](caf::error& err) {
        if (err == caf::sec::disconnect_during_handshake)
          result = make_kv_error(kv_errc::not_authenticated,
                                 describe_connect_error(sys, err));
        else
          result = std::move(err);
      });
  return result;
}

// One scoped actor per request: a late reply to a request given up on goes
// to an actor that no longer exists, never to the next request.
struct blocking_client::watcher {
  watcher(caf::actor_system& sys, const client_actor& node)
    : self(sys), watched(node.address()) {
    self->monitor(node);
  }
  // A monitor outlives the actor that placed it in CAF 0.17: without this,
  // every request would leave one on the node's proxy.
  ~watcher() {
    self->demonitor(watched);
  }
  caf::scoped_actor self;
  caf::actor_addr watched;
};

blocking_client::blocking_client(caf::actor_system& sys, client_actor node)
  : sys_(sys), node_(std::move(node)) {
  // nop
}

blocking_client::blocking_client(caf::actor_system& sys,
                                 std::vector<endpoint> nodes,
                                 failover_options opts)
  : sys_(sys), nodes_(std::move(nodes)), opts_(opts) {
  // nop
}

blocking_client::blocking_client(caf::actor_system& sys, client_actor node,
                                 endpoint address, failover_options opts)
  : sys_(sys), node_(std::move(node)), nodes_{std::move(address)},
    opts_(opts) {
  // nop
}

blocking_client::blocking_client(blocking_client&&) noexcept = default;

blocking_client::~blocking_client() = default;

caf::expected<blocking_client>
blocking_client::connect(caf::actor_system& sys, std::vector<endpoint> nodes,
                         failover_options opts) {
  if (nodes.empty())
    return make_kv_error(kv_errc::invalid_argument, "no node address given");
  blocking_client client{sys, std::move(nodes), opts};
  if (auto err = client.ensure_node())
    return err;
  return client;
}

std::string blocking_client::node_address() const {
  return nodes_.empty() ? std::string{} : nodes_[current_].to_string();
}

std::chrono::milliseconds
blocking_client::wait_limit(const request_options& opts) const {
  // The coordinator answers by the request timeout; the margin covers the
  // network and a node that uses its own (possibly larger) default.
  // 64-bit: timeout_ms + 2000 wrapped around in 32 bits.
  uint64_t request_ms = opts.timeout_ms != 0 ? opts.timeout_ms : 30000u;
  return std::chrono::milliseconds{request_ms + 2000};
}

caf::error blocking_client::ensure_node() {
  if (node_)
    return caf::none;
  if (nodes_.empty())
    return make_kv_error(kv_errc::unavailable,
                         "the node went away and this client knows no "
                         "address to connect again");
  std::string failures;
  for (std::size_t tried = 0; tried < nodes_.size(); ++tried) {
    auto& address = nodes_[current_];
    // CAF 0.17's middleman connects blocking, one address at a time: a
    // black-holed address would hold up every other for the OS's SYN
    // timeout, so a bounded plain probe goes first.
    auto problem = tcp_connect_problem(address.host, address.port,
                                       opts_.connect_limit);
    if (!problem.empty()) {
      failures += (failures.empty() ? "" : "; ") + address.to_string()
                  + ": " + problem;
      current_ = (current_ + 1) % nodes_.size();
      continue;
    }
    auto hdl = connect_to_node(sys_, address.host, address.port,
                               opts_.connect_limit);
    if (hdl) {
      node_ = std::move(*hdl);
      return caf::none;
    }
    failures += (failures.empty() ? "" : "; ") + address.to_string() + ": "
                + describe(hdl.error());
    current_ = (current_ + 1) % nodes_.size();
  }
  return make_kv_error(kv_errc::unavailable, "no node reachable (" + failures
                                               + ")");
}

void blocking_client::lose_node() {
  node_ = nullptr;
  if (!nodes_.empty())
    current_ = (current_ + 1) % nodes_.size();
}

template <class OnReply, class... Ts>
caf::error blocking_client::exchange(on_loss policy,
                                     std::chrono::milliseconds limit,
                                     OnReply on_reply, const Ts&... xs) {
  std::string lost; // the nodes lost during this call, and how
  // Each address gets the request at most once; one found gone before
  // the request went out is connected again once (it may be back).
  const auto addresses = std::max<std::size_t>(nodes_.size(), 1);
  std::size_t sent = 0, found_gone = 0;
  while (sent < addresses && found_gone <= addresses) {
    if (auto err = ensure_node())
      return lost.empty() ? err
                          : make_kv_error(kv_errc::unavailable,
                                          lost + "; " + describe(err));
    auto where = nodes_.empty() ? std::string{"the node"}
                                : nodes_[current_].to_string();
    // Monitoring a node already lost reports it at once: then the request
    // was never sent and may go elsewhere, whatever it is.
    watcher_.reset();
    watcher_ = std::make_unique<watcher>(sys_, node_);
    auto& self = watcher_->self;
    bool gone_before = false;
    self->receive([&](const caf::down_msg&) { gone_before = true; },
                  caf::after(std::chrono::seconds{0}) >> [] {
                    // nop
                  });
    if (gone_before) {
      lost += (lost.empty() ? "" : "; ") + where + " was gone";
      lose_node();
      ++found_gone;
      continue;
    }
    ++sent;
    // A plain send, not a request: CAF sends the handler's result (or
    // error) back as an ordinary message, so the receive below can also
    // take the down_msg that a request's receive would leave waiting.
    self->send(node_, xs...);
    caf::error failure;
    std::string loss;
    self->receive(on_reply, [&](caf::error& err) { failure = std::move(err); },
                  [&](const caf::down_msg&) {
                    loss = where + " went away before answering";
                  },
                  // The node answered, with something this client does not
                  // understand (another version): an answer, not a loss.
                  caf::others >> [&](caf::message_view&)
                    -> caf::result<caf::message> {
                    failure = make_kv_error(
                      kv_errc::invalid_argument,
                      where + " answered with an unexpected message (a node "
                              "of another kvactors version?)");
                    return caf::message{};
                  },
                  caf::after(limit) >> [&] {
                    loss = where + " did not answer within "
                           + std::to_string(limit.count()) + " ms";
                  });
    if (loss.empty())
      return failure;
    lost += (lost.empty() ? "" : "; ") + loss;
    lose_node();
    if (policy == on_loss::write_in_doubt)
      return make_kv_error(kv_errc::unavailable,
                           lost + ": the write may or may not have been "
                                  "applied; read the key to learn which");
    if (policy == on_loss::fail)
      return make_kv_error(kv_errc::unavailable,
                           lost + ": the request may or may not have been "
                                  "carried out");
  }
  return make_kv_error(kv_errc::unavailable, "no node answered (" + lost + ")");
}

template <class Result, class... Ts>
caf::expected<Result> blocking_client::ask(on_loss policy,
                                           std::chrono::milliseconds limit,
                                           const Ts&... xs) {
  caf::expected<Result> result{caf::sec::request_timeout};
  auto err = exchange(
    policy, limit, [&](Result& r) { result = std::move(r); }, xs...);
  if (err)
    return err;
  return result;
}

caf::expected<put_result> blocking_client::put(const std::string& key,
                                               const std::string& value,
                                               const vector_clock& context,
                                               const request_options& opts) {
  return ask<put_result>(on_loss::write_in_doubt, wait_limit(opts),
                         put_atom::value, key, value, context, opts);
}

caf::expected<get_result> blocking_client::get(const std::string& key,
                                               const request_options& opts) {
  return ask<get_result>(on_loss::resend, wait_limit(opts), get_atom::value,
                         key, opts);
}

caf::expected<put_result> blocking_client::remove(const std::string& key,
                                                  const vector_clock& context,
                                                  const request_options& opts) {
  return ask<put_result>(on_loss::write_in_doubt, wait_limit(opts),
                         delete_atom::value, key, context, opts);
}

std::vector<std::pair<std::string, uint64_t>>
hints_by_owner(std::vector<std::string> owners,
               const std::vector<uint64_t>& counts) {
  std::vector<std::pair<std::string, uint64_t>> pairs;
  for (std::size_t i = 0; i < owners.size() && i < counts.size(); ++i)
    pairs.emplace_back(std::move(owners[i]), counts[i]);
  return pairs;
}

caf::expected<std::vector<std::pair<std::string, uint64_t>>>
blocking_client::pending_hints() {
  std::vector<std::pair<std::string, uint64_t>> pairs;
  // This node's hints: another node's would be another answer.
  auto err = exchange(
    on_loss::fail, wait_limit({}),
    [&](std::vector<std::string>& owners, std::vector<uint64_t>& counts) {
      pairs = hints_by_owner(std::move(owners), counts);
    },
    get_atom::value, hint_atom::value);
  if (err)
    return err;
  return pairs;
}

caf::expected<reap_status> blocking_client::reaping() {
  return ask<reap_status>(on_loss::fail, wait_limit({}), get_atom::value,
                          reap_atom::value);
}

caf::expected<node_stats> blocking_client::stats() {
  // The node's own figures: another node's would be another answer.
  return ask<node_stats>(on_loss::fail, wait_limit({}), get_atom::value,
                         stats_atom::value);
}

caf::expected<autoscale_status> blocking_client::autoscale() {
  return ask<autoscale_status>(on_loss::fail, wait_limit({}), get_atom::value,
                               autoscale_atom::value, true);
}

caf::expected<std::string>
blocking_client::autoscale_control(const std::string& what,
                                   const std::string& value) {
  return ask<std::string>(on_loss::fail, wait_limit({}), autoscale_atom::value,
                          what, value, true);
}

caf::expected<std::vector<aae_partition>> blocking_client::anti_entropy() {
  return ask<std::vector<aae_partition>>(on_loss::fail, wait_limit({}),
                                         get_atom::value, aae_atom::value);
}

caf::expected<std::string> blocking_client::repair(const std::string& node_id) {
  return ask<std::string>(on_loss::fail, wait_limit({}), repair_atom::value,
                          node_id);
}

caf::expected<sibling_list>
blocking_client::local_versions(const std::string& key) {
  // This node's own replica: another node's would be another answer.
  return ask<sibling_list>(on_loss::fail, wait_limit({}), read_atom::value,
                           key);
}

caf::expected<std::vector<member_info>> blocking_client::members() {
  return ask<std::vector<member_info>>(on_loss::resend, wait_limit({}),
                                       get_atom::value, members_atom::value);
}

caf::expected<std::vector<std::string>>
blocking_client::preference_list(const std::string& key, uint32_t n) {
  return ask<std::vector<std::string>>(on_loss::resend, wait_limit({}),
                                       get_atom::value, ring_atom::value, key,
                                       n);
}

caf::expected<ring_state> blocking_client::ring() {
  return ask<ring_state>(on_loss::resend, wait_limit({}), get_atom::value,
                         ring_atom::value);
}

caf::expected<std::string> blocking_client::leave() {
  return ask<std::string>(on_loss::fail, wait_limit({}), leave_atom::value);
}

caf::expected<std::string> blocking_client::join_cluster(const endpoint& seed) {
  return ask<std::string>(on_loss::fail, wait_limit({}), join_atom::value,
                          seed.host, seed.port);
}

caf::expected<std::string>
blocking_client::remove_node(const std::string& node_id) {
  return ask<std::string>(on_loss::fail, wait_limit({}), remove_atom::value,
                          node_id);
}

caf::expected<std::string>
blocking_client::replace_node(const std::string& old_id,
                              const std::string& new_id) {
  return ask<std::string>(on_loss::fail, wait_limit({}), replace_atom::value,
                          old_id, new_id);
}

} // namespace kv
