#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "messages/interfaces.hpp"
#include "persistence/wt_engine.hpp"

namespace kv {

struct replica_store_settings {
  // Names the dots of the writes this replica coordinates: the node id and
  // its incarnation ("n1/8817..."), so a wiped directory or a second
  // process under the same id never issues a dot that was issued before.
  std::string node_id;
  std::string table = "kv";
  std::size_t max_value_bytes = 0;
  std::size_t max_siblings = 0;
  std::size_t max_clock_entries = 0;
};

// Spawns a replica store: an actor with its own WiredTiger session and
// cursor on the node's key table. It runs detached (its own thread) because
// every message does blocking disk I/O. Several stores may share one engine
// as long as a key is always sent to the same store, which makes each of its
// read-modify-writes atomic. The engine stays open while any store lives.
// Throws storage_error if the session or table cannot be opened.
replica_store_actor spawn_replica_store(caf::actor_system& sys,
                                        std::shared_ptr<wt_engine> engine,
                                        replica_store_settings settings);

} // namespace kv
