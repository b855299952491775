#include "actors/node.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/autoscale/scaling_policy.hpp"
#include "actors/coordination/coordinator.hpp"
#include "actors/storage/hint_buffer.hpp"
#include "actors/log.hpp"
#include "actors/membership/peer_connector.hpp"
#include "actors/membership/tcp_probe.hpp"
#include "actors/security/node_identity.hpp"
#include "actors/metrics/node_monitor.hpp"
#include "actors/gateway/resp_gateway.hpp"
#include "actors/metrics/status_server.hpp"
#include "actors/storage/replica_store.hpp"
#include "messages/validation.hpp"
#include "messages/vector_clock.hpp"
#include "persistence/node_files.hpp"
#include "persistence/storage_error.hpp"
#include "actors/security/remoting.hpp"

namespace kv {

namespace {

constexpr const char* key_table = "kv";

// How long stop() waits for the stores to close their sessions. A store
// finishes the write it is doing and then exits.
constexpr auto store_shutdown_limit = std::chrono::seconds{15};

} // namespace

void apply_node_runtime_defaults(caf::actor_system_config& cfg) {
  // CAF defaults to at least 4 work-stealing threads whose idle workers
  // poll; the replica stores and the hint buffer have their own threads, so
  // one scheduler thread per core sharing one queue does more per CPU
  // second (docs/performance.md).
  cfg.set("scheduler.max-threads",
          static_cast<size_t>(std::max(1u, std::thread::hardware_concurrency())));
  cfg.set("scheduler.policy", caf::atom("sharing"));
  // Without heartbeats a connection whose peer vanished (cut link, host
  // gone) looks open until TCP gives up, minutes later; with them the
  // middleman drops it, the peers' proxies die and the gossiper reconnects.
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds{1}});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds{5}});
}

scaling_targets autoscale_targets(const node_config& cfg) {
  auto t = cfg.autoscale.targets;
  t.replication = std::max(cfg.consistency.n, cfg.ring.replicas);
  t.max_nodes = std::max(t.max_nodes, t.replication);
  return t;
}

std::optional<std::string> config_problem(const node_config& cfg) {
  if (!valid_node_id(cfg.node_id))
    return "node id '" + cfg.node_id
           + "' is invalid: use 1-64 letters, digits, '_', '-' or '.'";
  if (!valid_node_id(cfg.dc))
    return "data centre '" + cfg.dc
           + "' is invalid: use 1-64 letters, digits, '_', '-' or '.'";
  if (cfg.storage.data_dir.empty())
    return std::string{"the data directory is empty"};
  if (!partition_map::valid_shape(cfg.ring.partitions, cfg.ring.replicas))
    return "a ring of " + std::to_string(cfg.ring.partitions)
           + " partitions with " + std::to_string(cfg.ring.replicas)
           + " replicas each is invalid: partitions must be a power of two "
             "up to 65536, replicas 1 to 16";
  for (auto& id : cfg.ring.initial_members)
    if (!valid_node_id(id))
      return "initial member '" + id + "' is not a valid node id";
  if (!cfg.ring.initial_members.empty()
      && std::find(cfg.ring.initial_members.begin(),
                   cfg.ring.initial_members.end(), cfg.node_id)
           == cfg.ring.initial_members.end())
    return "the initial members do not include this node, " + cfg.node_id
           + ": list every node that creates the ring, or none to join one";
  if (cfg.consistency.n > cfg.ring.replicas)
    return "default n=" + std::to_string(cfg.consistency.n)
           + " is more than the " + std::to_string(cfg.ring.replicas)
           + " replicas of a partition (--ring-replicas)";
  if (auto problem = targets_problem(autoscale_targets(cfg)))
    return "autoscale bounds: " + *problem;
  if (cfg.autoscale.interval.count() <= 0
      || cfg.autoscale.action_timeout.count() <= 0)
    return std::string{"the autoscale interval and action timeout must be "
                       "positive"};
  if (cfg.aae_interval.count() < 0)
    return std::string{"the anti-entropy interval cannot be negative"};
  if (cfg.max_request_timeout.count() <= 0
      || cfg.max_request_timeout.count() > max_request_timeout_ms
      || cfg.max_request_timeout.count() < cfg.consistency.timeout_ms)
    return "the longest request timeout (--max-request-timeout-ms) must be "
           "between the default timeout ("
           + std::to_string(cfg.consistency.timeout_ms) + " ms) and "
           + std::to_string(max_request_timeout_ms) + " ms";
  if (cfg.reap_interval.count() < 0 || cfg.tombstone_grace.count() < 0
      || cfg.reap_settle_margin.count() < 0)
    return std::string{"the reaping interval and the tombstone grace period "
                       "cannot be negative"};
  if (cfg.handoff_bytes_per_s == 0)
    return std::string{"the handoff rate must be positive"};
  if (!(cfg.handoff_busy_share > 0.0 && cfg.handoff_busy_share <= 1.0))
    return std::string{"the handoff busy share (--handoff-busy-pct) must be "
                       "1 to 100 percent"};
  if (cfg.cleanup_settle.count() <= 0 || cfg.cleanup_every.count() <= 0)
    return std::string{"the partition cleanup's waits must be positive"};
  if (cfg.membership.interval.count() <= 0)
    return std::string{"the gossip interval must be positive"};
  if (cfg.store_shards == 0 || cfg.store_shards > max_store_shards)
    return "store shards must be between 1 and "
           + std::to_string(max_store_shards);
  if (cfg.max_value_bytes == 0)
    return std::string{"the maximum value size must be positive"};
  if (cfg.max_siblings == 0)
    return std::string{"the maximum number of siblings must be positive"};
  if (cfg.max_clock_entries == 0)
    return std::string{"the maximum number of clock entries must be positive"};
  if (cfg.storage.cache_size_mb == 0)
    return std::string{"the cache size must be at least 1 MB"};
  auto& c = cfg.consistency;
  if (c.n == 0 || c.r == 0 || c.w == 0 || c.r > c.n || c.w > c.n)
    return "default consistency n=" + std::to_string(c.n) + " r="
           + std::to_string(c.r) + " w=" + std::to_string(c.w)
           + " is invalid: need 1 <= r, w <= n";
  if (c.timeout_ms == 0 || c.timeout_ms > max_request_timeout_ms)
    return "the default request timeout must be between 1 and "
           + std::to_string(max_request_timeout_ms) + " ms";
  if (cfg.hints.max_age.count() <= 0)
    return std::string{"the hint window (--hint-max-age-s) must be positive"};
  return std::nullopt;
}

node::node(caf::actor_system& sys, node_config cfg)
  : sys_(sys), cfg_(std::move(cfg)) {
  // nop
}

std::unique_ptr<node> node::start(caf::actor_system& sys,
                                  const node_config& cfg) {
  if (auto problem = config_problem(cfg))
    throw std::runtime_error(*problem);
  // Before the data directory is touched: a node that cannot prove who it
  // is must not start serving under that id.
  std::optional<identity_signer> signer;
  std::shared_ptr<identity_verifier> verifier;
  if (cfg.tls.any()) {
    if (auto problem = tls_files_problem(cfg.tls, "node", cfg.node_id))
      throw std::runtime_error(*problem);
    if (!sys.has_openssl_manager())
      throw std::runtime_error("TLS files are given but the actor system "
                               "has no TLS manager (see apply_tls)");
    std::string error;
    signer = identity_signer::load(cfg.tls.cert, cfg.tls.key, error);
    auto loaded = identity_verifier::load(cfg.tls.ca, error);
    if (!signer || !loaded)
      throw std::runtime_error(error);
    verifier = std::make_shared<identity_verifier>(std::move(*loaded));
  }
  std::unique_ptr<node> result{new node(sys, cfg)};
  auto engine = std::make_shared<wt_engine>(cfg.storage);
  // Before any store opens its tables: data written before partitions
  // existed is laid out again, position first.
  upgrade_key_layout(*engine, key_table);
  index_tombstones(*engine, key_table);
  // After the engine: its lock on the directory makes this process the only
  // one reading and writing these files.
  result->identity_ = load_or_create_identity(cfg.storage.data_dir, cfg.node_id);
  auto remembered = load_membership(cfg.storage.data_dir);
  auto saved_ring = load_ring(cfg.storage.data_dir);
  // A process that left the ring or was removed is never taken back: its
  // hints and records predate deletes that were reaped without it.
  member_info self_info;
  self_info.node_id = cfg.node_id;
  self_info.incarnation = result->identity_.incarnation;
  if (was_removed(saved_ring, self_info))
    throw std::runtime_error(
      "node " + cfg.node_id + " left the ring or was removed; it cannot "
      "come back on this data directory (" + cfg.storage.data_dir
      + "): start it on an empty one to join as a new node");
  // The file is this node's own, but it is read back from disk: what it
  // holds goes on the ring and is contacted, so it passes the same checks
  // as a member gossiped by a peer.
  // Its own entry is replaced by its card (an unpublished node saves port
  // 0).
  for (auto& member : remembered) {
    if (member.node_id == cfg.node_id)
      continue;
    if (auto problem = member_problem(member))
      throw storage_error("the saved membership in " + cfg.storage.data_dir
                          + " holds an invalid member (" + *problem
                          + "); remove its MEMBERS file to rejoin through "
                            "the seeds");
  }
  replica_store_settings store_settings;
  store_settings.node_id = result->identity_.replica_id();
  store_settings.table = key_table;
  store_settings.max_value_bytes = cfg.max_value_bytes;
  store_settings.max_siblings = cfg.max_siblings;
  store_settings.max_clock_entries = cfg.max_clock_entries;
  store_settings.shard_count = cfg.store_shards;
  store_settings.trees.rebuild_after_ms = cfg.aae_rebuild_after_ms;
  for (uint32_t i = 0; i < cfg.store_shards; ++i) {
    store_settings.shard = i;
    result->stores_.push_back(spawn_replica_store(sys, engine, store_settings));
  }
  result->hint_buffer_ = spawn_hint_buffer(sys, engine, cfg.hints);
  // From here on the stores and the hint buffer own the engine: it closes
  // after the last of them.
  engine.reset();
  node_card card;
  card.hints = result->hint_buffer_;
  card.info.node_id = cfg.node_id;
  card.info.incarnation = result->identity_.incarnation;
  card.info.dc = cfg.dc;
  card.info.host = cfg.host;
  card.stores = result->stores_;
  bool standalone = std::all_of(
    cfg.membership.seeds.begin(), cfg.membership.seeds.end(),
    [&](const seed_address& seed) { return names_node(seed, cfg.host, cfg.port); });
  auto claimant = cfg.ring;
  claimant.alone = standalone;
  claimant.cluster = new_cluster_name();
  // A node that makes a ring by itself makes it before it serves, so its
  // first request already has owners.
  if (saved_ring.version == 0
      && (claimant.initial_members.empty()
          || claimant.initial_members == std::vector<std::string>{cfg.node_id}))
    if (auto first = plan_ring_change(cfg.node_id, {}, {card.info}, claimant)) {
      save_ring(cfg.storage.data_dir, *first);
      saved_ring = std::move(*first);
    }
  merkle_syncer_settings syncer;
  syncer.node_id = cfg.node_id;
  syncer.interval = cfg.aae_interval;
  result->syncer_ = spawn_merkle_syncer(sys, syncer, result->stores_);
  tombstone_reaper_settings reaper;
  reaper.node_id = cfg.node_id;
  reaper.interval = cfg.reap_interval;
  reaper.grace = cfg.tombstone_grace;
  reaper.settle = cfg.max_request_timeout + cfg.reap_settle_margin;
  result->reaper_ = spawn_tombstone_reaper(sys, reaper, result->stores_);
  auto coordinator = spawn_coordinator(
    sys,
    coordinator_settings{cfg.node_id, cfg.max_value_bytes, cfg.consistency,
                         standalone, saved_ring, result->syncer_,
                         result->reaper_,
                         static_cast<uint32_t>(cfg.max_request_timeout.count())},
    card);
  result->coordinator_ = coordinator;
  card.coordinator = coordinator;
  if (cfg.publish) {
    auto port = publish_on(sys, result->coordinator_, cfg.port, cfg.host);
    if (!port) {
      auto reason = tcp_listen_problem(cfg.host, cfg.port);
      if (reason.empty()) // free again: say what CAF saw
        reason = "cannot listen on " + cfg.host + ":"
                 + std::to_string(cfg.port) + ": "
                 + sys.render(port.error());
      result->stop();
      throw std::runtime_error(reason);
    }
    result->port_ = *port;
  }
  card.info.port = result->port_;
  handoff_settings handoff;
  handoff.node_id = cfg.node_id;
  handoff.max_value_bytes = cfg.max_value_bytes;
  handoff.max_bytes_per_s = cfg.handoff_bytes_per_s;
  handoff.max_busy_share = cfg.handoff_busy_share;
  handoff.state_dir = cfg.storage.data_dir;
  result->handoff_ = spawn_handoff(sys, handoff, result->stores_);
  partition_cleaner_settings cleanup;
  cleanup.node_id = cfg.node_id;
  cleanup.settle = cfg.cleanup_settle;
  cleanup.every = cfg.cleanup_every;
  cleanup.max_bytes_per_s = cfg.handoff_bytes_per_s;
  cleanup.max_busy_share = cfg.handoff_busy_share;
  result->cleaner_ = spawn_partition_cleaner(sys, cleanup, result->stores_);
  auto autoscale = cfg.autoscale;
  autoscale.node_id = cfg.node_id;
  autoscale.targets = autoscale_targets(cfg);
  result->autoscaler_ = spawn_autoscaler(sys, std::move(autoscale));
  result->ring_manager_ = spawn_ring_manager(
    sys, cfg.node_id, claimant, saved_ring,
    {coordinator, result->handoff_, result->cleaner_, result->hint_buffer_,
     result->syncer_, result->reaper_, result->autoscaler_});
  auto membership = cfg.membership;
  membership.state_dir = cfg.storage.data_dir;
  membership.remembered = std::move(remembered);
  membership.saved_ring = std::move(saved_ring);
  membership.identities = std::move(verifier);
  if (signer)
    membership.signer
      = std::make_shared<const identity_signer>(std::move(*signer));
  result->connector_ = spawn_peer_connector(sys, membership.connector);
  result->gossiper_ = spawn_gossiper(sys, std::move(membership), std::move(card),
                                     result->ring_manager_, coordinator,
                                     result->hint_buffer_,
                                     {result->handoff_, result->cleaner_,
                                      result->syncer_, result->reaper_,
                                      result->autoscaler_},
                                     result->connector_);
  node_monitor_settings monitoring;
  monitoring.node_id = cfg.node_id;
  monitoring.dc = cfg.dc;
  monitoring.data_dir = cfg.storage.data_dir;
  monitoring.coordinator = coordinator;
  monitoring.stores = result->stores_;
  monitoring.hints = result->hint_buffer_;
  monitoring.handoff = result->handoff_;
  monitoring.syncer = result->syncer_;
  monitoring.reaper = result->reaper_;
  monitoring.gossiper = result->gossiper_;
  result->monitor_ = spawn_node_monitor(sys, std::move(monitoring));
  {
    // Not anonymous: the coordinator takes node-internal messages from
    // senders of this node only.
    caf::scoped_actor self{sys};
    self->send(coordinator, monitor_atom::value, result->monitor_);
    self->send(coordinator, autoscale_atom::value,
               caf::actor_cast<autoscaler_actor>(result->autoscaler_));
    self->send(result->autoscaler_, gossip_atom::value, result->gossiper_);
  }
  if (cfg.http_port) {
    status_server_settings http;
    http.host = cfg.host;
    http.port = *cfg.http_port;
    http.coordinator = coordinator;
    http.monitor = result->monitor_;
    auto server = spawn_status_server(sys, std::move(http));
    if (!server) {
      auto reason = tcp_listen_problem(cfg.host, *cfg.http_port);
      result->stop(false);
      throw std::runtime_error(
        "cannot serve HTTP (--http-port): "
        + (reason.empty() ? sys.render(server.error()) : reason));
    }
    result->status_server_ = server->broker;
    result->http_port_ = server->port;
    log_line(log_level::info, "status page and metrics on http://"
                                + cfg.host + ":"
                                + std::to_string(server->port) + "/");
  }
  if (cfg.resp_port) {
    resp_gateway_settings redis;
    redis.host = cfg.host;
    redis.port = *cfg.resp_port;
    redis.coordinator = coordinator;
    redis.monitor = result->monitor_;
    redis.password = cfg.resp_password;
    redis.max_value_bytes = cfg.max_value_bytes;
    redis.reply_limit = std::chrono::milliseconds{cfg.max_request_timeout}
                        + std::chrono::seconds{5};
    auto gateway = spawn_resp_gateway(sys, std::move(redis));
    if (!gateway) {
      auto reason = tcp_listen_problem(cfg.host, *cfg.resp_port);
      result->stop(false);
      throw std::runtime_error(
        "cannot serve Redis clients (--resp-port): "
        + (reason.empty() ? sys.render(gateway.error()) : reason));
    }
    result->resp_gateway_ = gateway->broker;
    result->resp_port_ = gateway->port;
    log_line(log_level::info, "Redis clients on " + cfg.host + ":"
                                + std::to_string(gateway->port));
  }
  return result;
}

node::~node() {
  stop();
}

void node::stop(bool announce) {
  if (stopped_)
    return;
  stopped_ = true;
  if (announce) {
    // Peers mark this node down at once instead of after the failure
    // detector's timeout; bounded, whatever the network does.
    caf::scoped_actor self{sys_};
    self->request(gossiper_, std::chrono::seconds{2}, stopping_atom::value)
      .receive([](ok_atom) {}, [](caf::error&) {});
  }
  if (status_server_)
    caf::anon_send_exit(status_server_, caf::exit_reason::user_shutdown);
  if (resp_gateway_)
    caf::anon_send_exit(resp_gateway_, caf::exit_reason::user_shutdown);
  if (monitor_)
    caf::anon_send_exit(monitor_, caf::exit_reason::user_shutdown);
  if (autoscaler_)
    caf::anon_send_exit(autoscaler_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(gossiper_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(connector_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(ring_manager_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(handoff_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(cleaner_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(syncer_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(reaper_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(coordinator_, caf::exit_reason::user_shutdown);
  // The actors with WiredTiger sessions: wait for them to close.
  auto disk_actors = std::vector<caf::actor>{};
  for (auto& store : stores_)
    disk_actors.push_back(caf::actor_cast<caf::actor>(store));
  if (hint_buffer_)
    disk_actors.push_back(caf::actor_cast<caf::actor>(hint_buffer_));
  caf::scoped_actor self{sys_};
  for (auto& actor : disk_actors) {
    self->monitor(actor);
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  }
  for (size_t pending = disk_actors.size(); pending > 0; --pending) {
    bool timed_out = false;
    self->receive([](const caf::down_msg&) {},
                  caf::after(store_shutdown_limit) >> [&] { timed_out = true; });
    if (timed_out) {
      log_line(log_level::error,
               "a storage actor did not stop in time; its data is safe up to "
               "the last acknowledged write (the log replays on restart)");
      break;
    }
  }
  stores_.clear();
  // Last: the middleman may be busy with a connect, and the data must be
  // safe however long that takes.
  if (port_ != 0) {
    // Bounded: middleman().unpublish() waits on the middleman actor without
    // a limit, and that actor can be stuck in a connect CAF 0.17 makes
    // blocking; the port is closed with the actor system then.
    caf::scoped_actor self{sys_};
    self
      ->request(remoting_of(sys_), std::chrono::seconds{5},
                caf::unpublish_atom::value,
                caf::actor_cast<caf::actor_addr>(coordinator_), port_)
      .receive([] {},
               [](caf::error&) {
                 log_line(log_level::warning,
                          "the middleman did not confirm the unpublish "
                          "within 5 s; the port closes with the process");
               });
  }
}

} // namespace kv
