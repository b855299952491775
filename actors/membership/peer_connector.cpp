#include "actors/membership/peer_connector.hpp"

#include <poll.h>
#include <unistd.h>

#include <map>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/membership/tcp_probe.hpp"
#include "messages/caf_types.hpp"
#include "actors/security/remoting.hpp"

namespace kv {

std::chrono::milliseconds connect_limit(const peer_connector_settings& s) {
  return s.probe_limit + s.handshake_limit + std::chrono::milliseconds{500};
}

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
using endpoint = std::pair<std::string, uint16_t>;
using coordinator_promise = caf::typed_response_promise<coordinator_actor>;

// The connector as it sees itself: the public interface plus its poll timer.
using connector_node_actor
  = peer_connector_actor::extend<caf::reacts_to<tick_atom>>;

// How often pending probes are polled, and how long a failed address is
// answered from memory (a dozen callers asking for one dead peer cost one
// probe).
constexpr milliseconds poll_interval{5};
constexpr milliseconds failure_memory{500};

struct probe {
  int fd;
  steady::time_point deadline;
};

struct peer_connector_state {
  peer_connector_settings settings;
  // Callers waiting for an address, while it is probed or handshaking.
  std::map<endpoint, std::vector<coordinator_promise>> waiting;
  std::map<endpoint, probe> probing; // non-blocking connects in flight
  std::map<endpoint, std::pair<steady::time_point, caf::error>> failed;
  bool polling = false;

  static inline const char* name = "peer_connector";

  ~peer_connector_state() {
    for (auto& [where, p] : probing)
      ::close(p.fd);
  }

  template <class T>
  void finish(const endpoint& where, T&& outcome) {
    auto i = waiting.find(where);
    if (i == waiting.end())
      return;
    for (auto& promise : i->second)
      promise.deliver(outcome);
    waiting.erase(i);
  }

  void fail(const endpoint& where, caf::error err) {
    failed[where] = {steady::now(), err};
    finish(where, std::move(err));
  }
};

using connector_pointer
  = connector_node_actor::stateful_pointer<peer_connector_state>;

std::string spelled(const endpoint& where) {
  return where.first + ":" + std::to_string(where.second);
}

caf::error unreachable(const endpoint& where, const std::string& why) {
  return make_kv_error(kv_errc::unavailable,
                       "cannot reach " + spelled(where) + ": " + why);
}

// The address answered TCP: CAF's middleman connects now (quickly: the
// peer is there) and does its handshake.
void handshake(connector_pointer self, const endpoint& where) {
  auto& sys = self->system();
  self
    ->request(remoting_of(sys), self->state.settings.handshake_limit, caf::connect_atom::value,
              where.first, where.second)
    .then(
      [=, &sys](const caf::node_id&, caf::strong_actor_ptr& ptr,
                const std::set<std::string>& ifs) {
        if (!ptr || !sys.assignable<coordinator_actor>(ifs)) {
          self->state.fail(where, make_kv_error(kv_errc::unavailable,
                                                spelled(where)
                                                  + " is not a kvactors node"));
          return;
        }
        self->state.finish(where, caf::actor_cast<coordinator_actor>(ptr));
      },
      [=, &sys](caf::error& err) {
        self->state.fail(where, make_kv_error(kv_errc::unavailable,
                                              "cannot connect to "
                                                + spelled(where) + ": "
                                                + describe_connect_error(
                                                  sys, err)));
      });
}

void schedule_poll(connector_pointer self) {
  if (self->state.polling || self->state.probing.empty())
    return;
  self->state.polling = true;
  self->delayed_send(self, poll_interval, tick_atom::value);
}

// Settles every probe that connected, failed or ran out of time.
void poll_probes(connector_pointer self) {
  auto& st = self->state;
  st.polling = false;
  std::vector<pollfd> fds;
  std::vector<endpoint> order;
  for (auto& [where, p] : st.probing) {
    fds.push_back(pollfd{p.fd, POLLOUT, 0});
    order.push_back(where);
  }
  ::poll(fds.data(), fds.size(), 0);
  auto now = steady::now();
  for (std::size_t i = 0; i < fds.size(); ++i) {
    auto& where = order[i];
    auto& p = st.probing.at(where);
    bool done = fds[i].revents != 0;
    if (!done && now < p.deadline)
      continue;
    auto problem = done ? tcp_connect_result(p.fd) : "connection timed out";
    ::close(p.fd);
    st.probing.erase(where);
    if (problem.empty())
      handshake(self, where);
    else
      st.fail(where, unreachable(where, problem));
  }
  schedule_poll(self);
}

connector_node_actor::behavior_type
peer_connector(connector_pointer self, peer_connector_settings settings) {
  self->state.settings = settings;
  return {
    [=](caf::connect_atom, std::string& host,
        uint16_t port) -> caf::result<coordinator_actor> {
      auto& st = self->state;
      endpoint where{std::move(host), port};
      // Forgotten once stale: addresses come from gossip, and a peer could
      // name any number of them.
      auto now = steady::now();
      for (auto i = st.failed.begin(); i != st.failed.end();)
        i = now - i->second.first < failure_memory ? std::next(i)
                                                   : st.failed.erase(i);
      auto recent = st.failed.find(where);
      if (recent != st.failed.end())
        return recent->second.second;
      auto promise = self->make_response_promise<coordinator_actor>();
      auto& callers = st.waiting[where];
      callers.push_back(promise);
      if (callers.size() > 1)
        return promise; // probed or handshaking already
      std::string error;
      int fd = start_tcp_connect(where.first, where.second, error);
      if (fd < 0) {
        st.fail(where, unreachable(where, error));
        return promise;
      }
      st.probing.emplace(where,
                         probe{fd, steady::now() + st.settings.probe_limit});
      schedule_poll(self);
      return promise;
    },
    [=](tick_atom) { poll_probes(self); },
  };
}

} // namespace

peer_connector_actor spawn_peer_connector(caf::actor_system& sys,
                                          peer_connector_settings settings) {
  // Detached: resolving a host name can block.
  auto hdl = sys.spawn<caf::detached>(peer_connector, settings);
  return caf::actor_cast<peer_connector_actor>(hdl);
}

} // namespace kv
