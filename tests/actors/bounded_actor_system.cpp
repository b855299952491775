#include "tests/actors/bounded_actor_system.hpp"

#include <iostream>
#include <stdexcept>
#include <thread>

#include "apps/client/kv_client.hpp"

namespace kv::testing {

// The configuration must live as long as the system, also when the system
// is left behind.
struct bounded_actor_system::parts {
  explicit parts(const tls_files& tls)
    : tls_applied(apply(cfg, tls)), sys(cfg) {}

  static bool apply(client_config& cfg, const tls_files& tls) {
    if (auto problem = cfg.use_tls(tls))
      throw std::runtime_error(*problem);
    return true;
  }

  client_config cfg;
  bool tls_applied;
  caf::actor_system sys;
};

bounded_actor_system::bounded_actor_system(std::chrono::milliseconds limit)
  : bounded_actor_system(tls_files{}, limit) {
}

bounded_actor_system::bounded_actor_system(const tls_files& tls,
                                           std::chrono::milliseconds limit)
  : limit_(limit),
    parts_(new parts(tls)),
    sys_(&parts_->sys),
    own_detached_actors_(sys_->detached_actors()) {
}

bounded_actor_system::~bounded_actor_system() {
  // Destroyed on this thread or not at all: ~actor_system also waits for the
  // logger, which the threads that used the system hold in thread-local
  // storage.
  auto deadline = std::chrono::steady_clock::now() + limit_;
  while (sys_->detached_actors() > own_detached_actors_) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::cerr << "bounded_actor_system: a detached actor is still "
                   "referenced "
                << limit_.count()
                << " ms after it stopped; the actor system is left running "
                   "(destroying it would wait for ever in CAF 0.17)\n";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  delete parts_;
}

} // namespace kv::testing
