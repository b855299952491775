#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/autoscale/autoscaler.hpp"
#include "actors/ring/claimant.hpp"
#include "actors/membership/gossiper.hpp"
#include "actors/security/tls_files.hpp"
#include "actors/antientropy/merkle_syncer.hpp"
#include "actors/antientropy/tombstone_reaper.hpp"
#include "actors/handoff/handoff.hpp"
#include "actors/handoff/partition_cleaner.hpp"
#include "actors/storage/hint_buffer.hpp"
#include "messages/interfaces.hpp"
#include "messages/limits.hpp"
#include "messages/request.hpp"
#include "persistence/node_files.hpp"
#include "persistence/wt_engine.hpp"

namespace kv {

// Everything that configures one node.
struct node_config {
  std::string node_id = "n1";
  std::string dc = "dc1";
  std::string host = "127.0.0.1";
  uint16_t port = 4000;       // 0 picks a free port (see node::port())
  bool publish = true;        // publish the coordinator over CAF remoting
  // TLS between nodes: the cluster CA, this node's certificate (OU node,
  // CN its id) and key. All or nothing; the actor system must have loaded
  // CAF's TLS manager with the same files (apply_tls in
  // actors/security/remoting.hpp). Empty: plain TCP, and anyone who
  // reaches the port is a member.
  tls_files tls;
  // The HTTP port of /metrics and the status page (on `host`); off when
  // not set. 0 picks a free one (see node::http_port()).
  std::optional<uint16_t> http_port;
  // The Redis port (actors/gateway/resp_gateway.hpp, on `host`); off when
  // not set. 0 picks a free one (see node::resp_port()). `resp_password`
  // is what AUTH must give (empty: none).
  std::optional<uint16_t> resp_port;
  std::string resp_password;
  engine_options storage;     // data directory, cache, durability, compressor
  uint32_t store_shards = 2;  // replica store actors, each with its own session
  std::size_t max_value_bytes = default_max_value_bytes;
  std::size_t max_siblings = default_max_siblings;
  std::size_t max_clock_entries = default_max_clock_entries;
  consistency_defaults consistency;
  // The shape of a ring this node creates (a node that joins takes the
  // cluster's) and the nodes that create the first ring together.
  claimant_settings ring;
  uint64_t handoff_bytes_per_s = uint64_t{32} << 20; // partition copy rate
  // The largest share of time a copy (handoff, cleanup) keeps its requests
  // outstanding: its cost to the foreground beyond the bytes.
  double handoff_busy_share = 1.0;
  // How long the ring stays settled before this node drops the data of
  // partitions it no longer holds (after their owners hold it), and how
  // often that runs again on an unchanged ring.
  std::chrono::milliseconds cleanup_settle{30'000};
  std::chrono::milliseconds cleanup_every{600'000};
  // Pause between two anti-entropy rounds (0: off) and how old a tree gets
  // before it is built again from the data.
  std::chrono::milliseconds aae_interval{1000};
  uint64_t aae_rebuild_after_ms = uint64_t{7} * 24 * 3600 * 1000;
  // Tombstone reaping: pause between cycles (0: off; also the least time
  // between a tombstone's two agreements) and the age a tombstone reaches
  // before it is a candidate.
  std::chrono::milliseconds reap_interval{10'000};
  std::chrono::milliseconds tombstone_grace{60'000};
  // The longest request timeout a client may ask of this node. Reaping
  // waits this long plus reap_settle_margin between a tombstone's two
  // agreements, so every request that read an older version has ended.
  std::chrono::milliseconds max_request_timeout{max_request_timeout_ms};
  std::chrono::milliseconds reap_settle_margin{5'000};
  gossiper_settings membership;         // seeds, gossip interval, detection
  hint_buffer_settings hints;           // bounds, expiry, delivery pacing
  // Bounds, provisioner command and pace of the autoscaler (node id and
  // coordinator are filled in; the replication bound is raised to this
  // node's N and ring replicas).
  autoscaler_settings autoscale;
};

// The CAF runtime settings a node runs best with (scheduler sized to the
// cores, 'sharing' policy); kvnode and the benchmarks apply them before
// their own overrides. Measured in docs/performance.md.
void apply_node_runtime_defaults(caf::actor_system_config& cfg);

// The autoscaler's bounds for this configuration: at least this node's N
// and ring replicas as the replication floor, and a maximum at least that.
scaling_targets autoscale_targets(const node_config& cfg);

// Why a configuration cannot run, if it cannot (bad node id, zero shards...).
std::optional<std::string> config_problem(const node_config& cfg);

// One running node inside an actor system: opens the storage engine, spawns
// the node's actors and (optionally) publishes the coordinator.
class node {
public:
  // Throws storage_error (data directory unusable) or std::runtime_error
  // (bad configuration, port in use) with a one-line reason.
  static std::unique_ptr<node> start(caf::actor_system& sys,
                                     const node_config& cfg);

  ~node(); // stop()s

  const coordinator_actor& coordinator() const { return coordinator_; }
  const gossiper_actor& gossiper() const { return gossiper_; }
  hint_buffer_actor hint_buffer() const { return hint_buffer_; }
  const std::vector<replica_store_actor>& stores() const { return stores_; }
  const handoff_node_actor& handoff() const { return handoff_; }
  const partition_cleaner_actor& cleaner() const { return cleaner_; }
  const merkle_syncer_node_actor& syncer() const { return syncer_; }
  const tombstone_reaper_node_actor& reaper() const { return reaper_; }
  const autoscaler_node_actor& autoscaler() const { return autoscaler_; }
  const node_config& config() const { return cfg_; }
  const node_identity& identity() const { return identity_; }

  // The port the coordinator is published on (0 when not published).
  uint16_t port() const { return port_; }
  // The status server's port; 0 when it is off.
  uint16_t http_port() const { return http_port_; }
  // The Redis gateway's port; 0 when it is off.
  uint16_t resp_port() const { return resp_port_; }

  // Stops the node's actors and waits until every store has closed its
  // WiredTiger session; the engine closes when the last store is gone.
  // With `announce`, the peers hear first that this node is going down (a
  // stop is not a leave) and mark it down at once; without, they find out
  // through failure detection, as after a crash. Idempotent.
  void stop(bool announce = true);

private:
  node(caf::actor_system& sys, node_config cfg);

  caf::actor_system& sys_;
  node_config cfg_;
  std::vector<replica_store_actor> stores_;
  coordinator_actor coordinator_;
  ring_manager_actor ring_manager_;
  gossiper_actor gossiper_;
  hint_buffer_node_actor hint_buffer_;
  handoff_node_actor handoff_;
  partition_cleaner_actor cleaner_;
  merkle_syncer_node_actor syncer_;
  tombstone_reaper_node_actor reaper_;
  peer_connector_actor connector_;
  node_monitor_actor monitor_;
  autoscaler_node_actor autoscaler_;
  caf::actor status_server_;
  caf::actor resp_gateway_;
  uint16_t port_ = 0;
  uint16_t http_port_ = 0;
  uint16_t resp_port_ = 0;
  bool stopped_ = false;
  node_identity identity_;
};

} // namespace kv
