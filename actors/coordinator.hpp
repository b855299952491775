#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "messages/interfaces.hpp"
#include "messages/request.hpp"

namespace kv {

struct coordinator_settings {
  std::string node_id;
  std::size_t max_value_bytes = 0;
  consistency_defaults consistency;
};

// Spawns the node's coordinator: it serves client put/get/delete for any key,
// sending each to the key's replicas and answering once W acknowledged (R
// answered), or with an error saying how many did when the timeout expires.
// `local_stores` are this node's replica stores (see store_shard_of).
coordinator_actor spawn_coordinator(caf::actor_system& sys,
                                    coordinator_settings settings,
                                    std::vector<replica_store_actor> local_stores);

} // namespace kv
