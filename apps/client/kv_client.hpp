#pragma once

// The client API of kvactors for CAF applications. A client is an ordinary
// CAF program: it registers the store's message types, connects to any
// node's coordinator and sends it put/get/delete requests. Asynchronous
// actors use the `coordinator_actor` handle directly (see apps/example);
// `blocking_client` wraps the same requests for sequential code.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

#include "messages/caf_types.hpp"
#include "messages/interfaces.hpp"

namespace kv {

// An actor_system_config with the middleman loaded and every kvactors type
// registered. Subclass it to add options.
class client_config : public caf::actor_system_config {
public:
  client_config();
};

// Connects to the coordinator a node publishes at host:port, waiting at most
// `limit`: CAF's own remote_actor waits forever when the peer accepts TCP but
// never answers the handshake (a wrong port). Fails fast when nothing
// listens there.
caf::expected<coordinator_actor>
connect_to_node(caf::actor_system& sys, const std::string& host, uint16_t port,
                std::chrono::milliseconds limit = std::chrono::seconds{10});

// Sequential requests against one coordinator; each call waits for its reply
// for at most the request's timeout plus a margin.
class blocking_client {
public:
  blocking_client(caf::actor_system& sys, coordinator_actor node);

  caf::expected<put_result> put(const std::string& key,
                                const std::string& value,
                                const vector_clock& context = {},
                                const request_options& opts = {});

  caf::expected<get_result> get(const std::string& key,
                                const request_options& opts = {});

  caf::expected<put_result> remove(const std::string& key,
                                   const vector_clock& context = {},
                                   const request_options& opts = {});

  // The members the node knows, with their status.
  caf::expected<std::vector<member_info>> members();

  // The preference list (node ids) of `key` for `n` replicas.
  caf::expected<std::vector<std::string>>
  preference_list(const std::string& key, uint32_t n);

  // The ring the node routes with (partition owners, change in transfer).
  caf::expected<ring_state> ring();

  // The connected node leaves the ring (hands its partitions over first);
  // an operator removes a dead node. The replies say what happens.
  caf::expected<std::string> leave();
  caf::expected<std::string> remove_node(const std::string& node_id);
  caf::expected<std::string> replace_node(const std::string& old_id,
                                          const std::string& new_id);

  // Hints this node holds for unreachable owners: owner -> count.
  caf::expected<std::vector<std::pair<std::string, uint64_t>>> pending_hints();

  // Anti-entropy per partition this node holds, and a forced exchange of
  // every partition with its other replicas (only those shared with
  // `node_id` unless it is empty); the reply says what was queued.
  caf::expected<std::vector<aae_partition>> anti_entropy();
  caf::expected<std::string> repair(const std::string& node_id);
  // Tombstone reaping as this node's reaper sees it.
  caf::expected<reap_status> reaping();

  // Every version this node's own replica stores for `key` (no quorum).
  caf::expected<sibling_list> local_versions(const std::string& key);

  const coordinator_actor& node() const { return node_; }

private:
  std::chrono::milliseconds wait_limit(const request_options& opts) const;

  caf::actor_system& sys_;
  coordinator_actor node_;
};

} // namespace kv
