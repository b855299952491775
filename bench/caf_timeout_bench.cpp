// caf_timeout_bench: what a per-request timeout costs in CAF 0.17. Client
// actors keep requests in flight to one echo actor, once with a timeout on
// every request and once with caf::infinite, in alternating windows; prints
// requests/s of each. Evidence for docs/performance.md ("Where the time
// goes"): every timed request sends two events through CAF's clock thread.
//
// usage: caf_timeout_bench [rounds=3] [seconds per window=2] [threads=0]

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <caf/all.hpp>

namespace kv {
namespace {

using echo_atom = caf::atom_constant<caf::atom("echo")>;
using done_atom = caf::atom_constant<caf::atom("done")>;

constexpr int clients = 4;
constexpr int depth = 16;

struct window {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> replies{0};
};

caf::behavior echo(caf::event_based_actor*) {
  return {[](echo_atom, int x) { return x; }};
}

struct client_state {
  int in_flight = 0;
  uint64_t replies = 0;
};

using client_actor = caf::stateful_actor<client_state>;

void issue(client_actor* self, caf::actor server, caf::duration timeout,
           window* w, caf::actor collector) {
  auto& st = self->state;
  if (w->stop) {
    if (st.in_flight == 0) {
      w->replies += st.replies;
      self->send(collector, done_atom::value);
      self->quit();
    }
    return;
  }
  ++st.in_flight;
  self->request(server, timeout, echo_atom::value, 1).then([=](int) {
    --self->state.in_flight;
    ++self->state.replies;
    issue(self, server, timeout, w, collector);
  });
}

caf::behavior client(client_actor* self, caf::actor server,
                     caf::duration timeout, window* w, caf::actor collector) {
  for (int i = 0; i < depth; ++i)
    issue(self, server, timeout, w, collector);
  return {[](done_atom) {}};
}

double run_window(caf::actor_system& sys, caf::actor server,
                  caf::duration timeout, double seconds) {
  window w;
  caf::scoped_actor self{sys};
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < clients; ++i)
    sys.spawn(client, server, timeout, &w, caf::actor_cast<caf::actor>(self));
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  w.stop = true;
  for (int i = 0; i < clients; ++i)
    self->receive([](done_atom) {});
  auto elapsed = std::chrono::duration<double>(
                   std::chrono::steady_clock::now() - start)
                   .count();
  return static_cast<double>(w.replies) / elapsed;
}

} // namespace
} // namespace kv

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 3;
  double seconds = argc > 2 ? std::atof(argv[2]) : 2.0;
  auto threads = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 0ul;
  if (rounds < 1 || !(seconds > 0)) {
    std::cerr << "usage: caf_timeout_bench [rounds] [seconds] [threads]\n";
    return 2;
  }
  caf::actor_system_config cfg;
  if (threads > 0)
    cfg.set("scheduler.max-threads", static_cast<size_t>(threads));
  caf::actor_system sys{cfg};
  auto server = sys.spawn(kv::echo);
  double timed = 0;
  double untimed = 0;
  for (int i = 0; i < rounds; ++i) {
    timed += kv::run_window(sys, server,
                            caf::duration{std::chrono::seconds{5}}, seconds);
    untimed += kv::run_window(sys, server, caf::infinite, seconds);
  }
  std::cout << "requests/s with a 5 s timeout: " << timed / rounds
            << "\nrequests/s with caf::infinite: " << untimed / rounds
            << "\ninfinite/timeout: " << untimed / timed << "\n";
  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  return 0;
}
