#pragma once

// An actor system (with the client's message types) whose destruction takes
// at most a bound.
//
// CAF 0.17's ~actor_system waits until every detached actor is destroyed, not
// only stopped. A reference that outlives the system's shutdown keeps one
// alive for ever: a node's replica store whose reply to a peer was still in
// the middleman when the node stopped is one (CAF issue 1196, fixed in CAF
// 0.18). kvnode ends its process after a clean stop instead (kvnode.cpp); a
// test process runs many systems one after another, so it waits a bounded
// time for the system's detached actors to be destroyed, and leaves a system
// whose actors are not running (the one destruction would hang on).

#include <chrono>
#include <memory>

#include <caf/actor_system.hpp>

#include "actors/security/tls_files.hpp"

namespace kv::testing {

class bounded_actor_system {
public:
  explicit bounded_actor_system(
    std::chrono::milliseconds limit = std::chrono::seconds{5});
  // Speaks TLS with these files (throws when they cannot be used).
  explicit bounded_actor_system(const tls_files& tls,
                                std::chrono::milliseconds limit
                                = std::chrono::seconds{5});
  ~bounded_actor_system();

  bounded_actor_system(const bounded_actor_system&) = delete;
  bounded_actor_system& operator=(const bounded_actor_system&) = delete;

  caf::actor_system& get() { return *sys_; }

private:
  struct parts;
  std::chrono::milliseconds limit_;
  parts* parts_;
  caf::actor_system* sys_;
  // CAF's own detached actors (printer, middleman actor), which live as long
  // as the system.
  std::size_t own_detached_actors_;
};

} // namespace kv::testing
