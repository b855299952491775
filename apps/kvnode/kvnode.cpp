// kvnode: one node of a kvactors cluster. Opens the data directory, starts the
// node's actors, publishes its coordinator and runs until SIGINT/SIGTERM.

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <iostream>
#include <pthread.h>
#include <unistd.h>
#include <sstream>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/autoscale/target_settings.hpp"
#include "actors/log.hpp"
#include "apps/kvnode/config_file.hpp"
#include "messages/version.hpp"
#include "actors/gateway/client_port.hpp"
#include "actors/membership/tcp_probe.hpp"
#include "actors/node.hpp"
#include "actors/security/remoting.hpp"
#include "messages/caf_types.hpp"

namespace {

class kvnode_config : public caf::actor_system_config {
public:
  kv::node_config node;
  std::string durability = "write";
  uint32_t port = 4000;
  int32_t http_port = -1;
  uint32_t cache_size_mb = 256;
  std::string seeds;
  uint32_t gossip_interval_ms = 1000;
  uint32_t suspect_after_ms = 0;
  uint32_t down_after_ms = 0;
  uint32_t hint_max_age_s = 3 * 3600;
  std::string initial_members;
  uint32_t handoff_mb_per_s = 32;
  uint32_t handoff_busy_pct = 100;
  uint32_t aae_interval_ms = 1000;
  uint32_t aae_rebuild_hours = 7 * 24;
  uint32_t reap_interval_ms = 10'000;
  uint32_t cleanup_settle_s = 30;
  uint32_t cleanup_every_s = 600;
  uint32_t tombstone_grace_ms = 60'000;
  uint32_t max_request_timeout_ms = kv::max_request_timeout_ms;
  // --autoscale-NAME for every bound of kv::target_settings(); std::map
  // keeps each value where CAF's option points.
  std::map<std::string, uint32_t> autoscale_bounds;
  uint32_t autoscale_interval_ms = 2000;
  uint32_t autoscale_action_timeout_s = 1200;
  bool insecure = false;
  int32_t client_port = -1;
  std::string client_ca;
  uint32_t resp_port = 0;
  std::string resp_password_file;

  kvnode_config() {
    load<caf::io::middleman>();
    // Set before parsing, so --scheduler.* flags still override them.
    kv::apply_node_runtime_defaults(*this);
    kv::register_message_types(*this);
    node.storage.data_dir.clear(); // defaults to ./data/<node-id>
    caf::config_option_adder{custom_options_, "global"}
      .add(node.node_id, "node-id", "node id (letters, digits, _ - .)")
      .add(node.dc, "dc", "data centre of this node")
      .add(node.host, "host", "address to listen on")
      .add(port, "port", "port to listen on (0: pick a free one)")
      .add(http_port, "http-port",
           "port of /metrics (Prometheus) and the status page (-1: off, "
           "0: pick a free one)")
      .add(node.tls.ca, "tls-ca",
           "cluster CA certificate (PEM): peers must present a certificate "
           "it signed (scripts/certs.sh makes them)")
      .add(node.tls.cert, "tls-cert",
           "this node's certificate (PEM, from the cluster CA, OU node, CN "
           "the node id)")
      .add(node.tls.key, "tls-key", "this node's private key (PEM)")
      .add(client_port, "client-port",
           "port of the client gateway: put/get/delete and read-only views "
           "for clients with a certificate from --client-ca (-1: off, 0: "
           "pick a free one)")
      .add(resp_port, "resp-port",
           "port of the Redis gateway: any Redis client, redis-cli and "
           "redis-benchmark use the cluster through it (0: off; plain TCP, "
           "see docs/redis.md)")
      .add(resp_password_file, "resp-password-file",
           "file whose first line is the password Redis clients give with "
           "AUTH (needed when --host is not a loopback address)")
      .add(client_ca, "client-ca",
           "client CA certificate (PEM): clients must present a certificate "
           "it signed (scripts/certs.sh client NAME)")
      .add(insecure, "insecure",
           "run without TLS: anyone who reaches the port can join the "
           "cluster and read or write everything (tests, benchmarks)")
      .add(node.storage.data_dir, "data-dir",
           "data directory (default: ./data/<node-id>)")
      .add(cache_size_mb, "cache-size-mb",
           "storage cache in MB; data may be larger")
      .add(durability, "durability",
           "write (commits reach the OS: survive kill -9) or fsync (reach "
           "the disk: survive power loss)")
      .add(node.storage.block_compressor, "compressor",
           "block compression: snappy, zlib or none")
      .add(node.max_value_bytes, "max-value-bytes", "largest value accepted")
      .add(node.max_siblings, "max-siblings",
           "concurrent versions a key may hold before writes are refused")
      .add(node.store_shards, "store-shards",
           "replica store actors (each a thread with its own session)")
      .add(node.consistency.n, "n", "default number of replicas")
      .add(node.consistency.r, "r", "default read quorum")
      .add(node.consistency.w, "w", "default write quorum")
      .add(node.consistency.timeout_ms, "timeout-ms",
           "default request timeout in milliseconds")
      .add(seeds, "seeds",
           "host:port,... of nodes to join through (any one suffices)")
      .add(initial_members, "initial-members",
           "id,id,...: the nodes that create the ring together (every node "
           "of a new cluster lists the same ones; a node that joins later "
           "lists none)")
      .add(node.ring.partitions, "partitions",
           "partitions of a ring this node creates (a power of two)")
      .add(node.ring.replicas, "ring-replicas",
           "replicas per partition of a ring this node creates")
      .add(handoff_mb_per_s, "handoff-mb-per-s",
           "rate at which partitions taken over are copied (MB/s)")
      .add(handoff_busy_pct, "handoff-busy-pct",
           "largest share of time (percent, 1-100) a partition copy or "
           "cleanup keeps its requests outstanding")
      .add(cleanup_settle_s, "cleanup-settle-s",
           "how long the ring stays settled before this node drops the data "
           "of partitions it no longer holds (after their owners hold it)")
      .add(cleanup_every_s, "cleanup-every-s",
           "how often that cleanup runs again on an unchanged ring")
      .add(aae_interval_ms, "aae-interval-ms",
           "pause between two anti-entropy rounds (0: off)")
      .add(aae_rebuild_hours, "aae-rebuild-hours",
           "age at which an anti-entropy tree is built again from the data")
      .add(reap_interval_ms, "reap-interval-ms",
           "pause between two tombstone reaping cycles (0: never reap)")
      .add(tombstone_grace_ms, "tombstone-grace-ms",
           "age a tombstone reaches before reaping considers it")
      .add(max_request_timeout_ms, "max-request-timeout-ms",
           "longest timeout a request may ask for (reaping waits it out)")
      .add(gossip_interval_ms, "gossip-interval-ms",
           "milliseconds between gossip rounds")
      .add(suspect_after_ms, "suspect-after-ms",
           "no heartbeat progress this long: suspect (0: 3 gossip rounds)")
      .add(down_after_ms, "down-after-ms",
           "no progress this long and confirmed by peers: down (0: 8 rounds)")
      .add(node.hints.max_hints, "max-hints",
           "hints held for unreachable nodes before new ones are refused")
      .add(hint_max_age_s, "hint-max-age-s",
           "seconds a hint is kept before it expires")
      .add(node.autoscale.command, "autoscale-command",
           "provisioner run for a scaling decision as COMMAND grow, "
           "COMMAND check-shrink NODE or COMMAND shrink NODE (empty: "
           "decisions are advice only)")
      .add(node.autoscale.paused, "autoscale-paused",
           "start with the autoscaler paused")
      .add(autoscale_interval_ms, "autoscale-interval-ms",
           "milliseconds between two looks at the cluster's load")
      .add(autoscale_action_timeout_s, "autoscale-action-timeout-s",
           "longest a step of a scaling action (leave, provisioner, join) "
           "may take before it counts as failed");
    for (auto& bound : kv::target_settings()) {
      auto& value = autoscale_bounds[bound.name];
      value = static_cast<uint32_t>(
        *kv::get_target(node.autoscale.targets, bound.name));
      caf::config_option_adder{custom_options_, "global"}.add(
        value, std::string{"autoscale-"} + bound.name, bound.help);
    }
  }

  // The flags CAF (help) and main (config file, dump) handle themselves:
  // not kvnode settings.
  static bool handled_before_settings(std::string_view name) {
    return name == "help" || name == "long-help" || name == "dump-config"
           || name == "config-file";
  }

  // The first "--name" among the arguments that no option answers to. CAF
  // itself reports these as raw parser errors.
  std::optional<std::string> unknown_flag(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg.rfind("--", 0) != 0)
        continue;
      auto name = arg.substr(2, arg.find('=') - 2);
      if (!handled_before_settings(name) && name != "caf#"
          && custom_options_.cli_long_name_lookup(name) == nullptr)
        return "--" + name;
    }
    return std::nullopt;
  }

  // The first problem of a config file's text ("line N: ..."), judged by
  // the options this program knows (kvnode's and CAF's own sections).
  std::optional<std::string> config_problem(std::string_view text) const {
    return kv::config_text_problem(
      text, [this](std::string_view section, std::string_view key) {
        auto option = custom_options_.qualified_name_lookup(
          caf::string_view{section.data(), section.size()},
          caf::string_view{key.data(), key.size()});
        if (option == nullptr)
          return kv::option_kind::unknown;
        return kind_of(*option);
      });
  }

  static kv::option_kind kind_of(const caf::config_option& option) {
    auto type = text(option.type_name());
    if (type == "string")
      return kv::option_kind::text;
    if (type.find("int") != std::string::npos)
      return kv::option_kind::number;
    return kv::option_kind::other;
  }

  // What went wrong with "--name=value" whose value CAF could not read.
  std::string bad_flag_value(const std::string& argument) const {
    auto name = argument.substr(2, argument.find('=') - 2);
    auto option = custom_options_.cli_long_name_lookup(
      caf::string_view{name.data(), name.size()});
    std::string expected;
    if (option != nullptr && kind_of(*option) == kv::option_kind::number)
      expected = ": expected a whole number";
    return "invalid value in " + argument + expected + " (see --help)";
  }

  static std::string text(caf::string_view x) {
    return std::string(x.begin(), x.end());
  }

  // kvnode's own options with their values now, as a config file.
  std::string dump() const {
    std::vector<kv::documented_option> options;
    for (auto& option : custom_options_) {
      auto name = option.long_name();
      if (option.category() != "global"
          || handled_before_settings(std::string_view{name.data(),
                                                      name.size()}))
        continue;
      auto value = option.get();
      options.push_back(kv::documented_option{
        text(name), text(option.description()),
        value ? caf::to_string(*value) : std::string{"\"\""}});
    }
    return kv::render_config(options);
  }

  // Completes node settings from the flags; an error text if they are bad.
  std::optional<std::string> finish() {
    if (port > 65535)
      return "port " + std::to_string(port) + " is out of range";
    node.port = static_cast<uint16_t>(port);
    if (http_port > 65535 || http_port < -1)
      return "--http-port " + std::to_string(http_port)
             + " is out of range (-1: off)";
    if (http_port >= 0)
      node.http_port = static_cast<uint16_t>(http_port);
    if (client_port > 65535 || client_port < -1)
      return "--client-port " + std::to_string(client_port)
             + " is out of range (-1: off)";
    if (resp_port > 65535)
      return "--resp-port " + std::to_string(resp_port)
             + " is out of range (0: off)";
    if (resp_port != 0)
      node.resp_port = static_cast<uint16_t>(resp_port);
    auto mode = kv::parse_durability(durability);
    if (!mode)
      return "durability '" + durability + "' is invalid: use write or fsync";
    node.storage.durability = *mode;
    if (node.storage.block_compressor != "snappy"
        && node.storage.block_compressor != "zlib"
        && node.storage.block_compressor != "none")
      return "compressor '" + node.storage.block_compressor
             + "' is invalid: use snappy, zlib or none";
    node.storage.cache_size_mb = cache_size_mb;
    std::string seed_error;
    auto parsed = kv::parse_seeds(seeds, seed_error);
    if (!parsed)
      return seed_error;
    node.membership.seeds = std::move(*parsed);
    node.membership.interval = std::chrono::milliseconds{gossip_interval_ms};
    node.membership.detection = kv::detection_for(node.membership.interval);
    if (suspect_after_ms != 0)
      node.membership.detection.suspect_after
        = std::chrono::milliseconds{suspect_after_ms};
    if (down_after_ms != 0)
      node.membership.detection.down_after
        = std::chrono::milliseconds{down_after_ms};
    if (node.membership.detection.down_after
        < node.membership.detection.suspect_after)
      return std::string{"--down-after-ms must not be below --suspect-after-ms"};
    node.hints.max_age = std::chrono::seconds{hint_max_age_s};
    node.ring.initial_members.clear();
    for (std::size_t pos = 0; pos < initial_members.size();) {
      auto comma = initial_members.find(',', pos);
      if (comma == std::string::npos)
        comma = initial_members.size();
      if (comma > pos)
        node.ring.initial_members.push_back(
          initial_members.substr(pos, comma - pos));
      pos = comma + 1;
    }
    node.handoff_bytes_per_s = uint64_t{handoff_mb_per_s} << 20;
    node.handoff_busy_share = handoff_busy_pct / 100.0;
    node.aae_interval = std::chrono::milliseconds{aae_interval_ms};
    node.aae_rebuild_after_ms = uint64_t{aae_rebuild_hours} * 3600 * 1000;
    node.reap_interval = std::chrono::milliseconds{reap_interval_ms};
    node.cleanup_settle = std::chrono::seconds{cleanup_settle_s};
    node.cleanup_every = std::chrono::seconds{cleanup_every_s};
    node.tombstone_grace = std::chrono::milliseconds{tombstone_grace_ms};
    node.max_request_timeout = std::chrono::milliseconds{max_request_timeout_ms};
    std::vector<std::pair<std::string, uint64_t>> bounds;
    for (auto& [name, value] : autoscale_bounds)
      if (kv::get_target(node.autoscale.targets, name) != uint64_t{value})
        bounds.emplace_back(name, value);
    if (auto problem = kv::set_targets(node.autoscale.targets, bounds))
      return "autoscale bounds (--autoscale-*): " + *problem;
    node.autoscale.interval = std::chrono::milliseconds{autoscale_interval_ms};
    node.autoscale.action_timeout
      = std::chrono::seconds{autoscale_action_timeout_s};
    if (node.storage.data_dir.empty())
      node.storage.data_dir = "data/" + node.node_id;
    if (auto problem = kv::config_problem(node))
      return problem;
    if (insecure && node.tls.any())
      return std::string{"--insecure and TLS files (--tls-*) exclude each "
                         "other"};
    if (!insecure && !node.tls.any())
      return std::string{"no TLS files: give --tls-ca, --tls-cert and "
                         "--tls-key (scripts/certs.sh makes them), or "
                         "--insecure to run without TLS"};
    if (node.tls.any()) {
      // From here on the node, its signer and CAF read copies of the
      // files made now.
      std::string error;
      auto copies = kv::checked_tls_copies(node.tls, "node", node.node_id,
                                           error);
      if (!copies)
        return error;
      node.tls = *copies;
      kv::apply_tls(*this, node.tls);
    }
    if (client_port >= 0 && node.tls.any()) {
      if (client_ca.empty())
        return std::string{"--client-port with TLS needs --client-ca: the CA "
                           "whose certificates clients present"};
      if (auto problem = kv::ca_file_problem(client_ca))
        return "--client-ca: " + *problem;
    } else if (!client_ca.empty()) {
      return std::string{"--client-ca needs --client-port and TLS"};
    }
    return resp_problem();
  }

  // The Redis port speaks plain TCP (CAF 0.17 has no TLS for brokers):
  // beyond loopback it takes a password, unless --insecure says so.
  std::optional<std::string> resp_problem() {
    if (!resp_password_file.empty()) {
      if (resp_port == 0)
        return std::string{"--resp-password-file needs --resp-port"};
      std::string error;
      auto password = kv::read_password_file(resp_password_file, error);
      if (!password)
        return "--resp-password-file: " + error;
      node.resp_password = *password;
    }
    if (resp_port != 0 && node.resp_password.empty() && !insecure
        && !kv::is_loopback_host(node.host))
      return "--resp-port on " + node.host
             + " (not a loopback address) needs --resp-password-file, or "
               "--insecure to let anyone who reaches it read and write";
    return std::nullopt;
  }
};

// Set when a peer says another live node has this node's id.
std::atomic<bool> id_conflict{false};

// How long a stop may take before the process ends anyway.
constexpr std::chrono::seconds shutdown_limit{20};

int fail(const std::string& reason, int code) {
  std::cerr << "kvnode: " << reason << std::endl;
  return code;
}

} // namespace

int main(int argc, char** argv) {
  if (kv::print_version_if_asked(argc, argv, "kvnode"))
    return 0;
  // Block the stop signals before CAF starts its threads, so they stay
  // pending until main waits for them and shutdown runs on this thread.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  kvnode_config cfg;
  if (auto unknown = cfg.unknown_flag(argc, argv))
    return fail("unknown option '" + *unknown + "' (see --help)", 2);
  // kvnode reads a config file only when given one, and checks it before
  // CAF does (see config_file.hpp).
  caf::actor_system_config::string_list args;
  std::optional<std::string> config_path;
  bool dump_config = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--dump-config")
      dump_config = true;
    else if (arg == "--config-file")
      return fail("give the file as --config-file=FILE", 2);
    else if (arg.rfind("--config-file=", 0) == 0)
      config_path = arg.substr(std::strlen("--config-file="));
    else
      args.push_back(std::move(arg));
  }
  std::string config_text;
  if (config_path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*config_path, ec))
      return fail("cannot read config file " + *config_path + ": "
                    + (ec ? ec.message() : std::string{"not a regular file"}),
                  2);
    std::ifstream file{*config_path};
    std::ostringstream content;
    content << file.rdbuf();
    if (!file || !content)
      return fail("cannot read config file " + *config_path + ": "
                    + std::strerror(errno),
                  2);
    config_text = content.str();
    if (auto problem = cfg.config_problem(config_text))
      return fail("config file " + *config_path + ", " + *problem, 2);
  }
  std::istringstream config_stream{config_text};
  if (auto err = cfg.parse(args, config_stream)) {
    auto rendered = cfg.render(err);
    auto place = kv::parser_error_place(rendered);
    if (config_path && place)
      return fail("config file " + *config_path + ", " + *place
                    + ": cannot read the value there",
                  2);
    if (auto argument = kv::parser_error_argument(rendered))
      return fail(cfg.bad_flag_value(*argument), 2);
    return fail("invalid option value: " + rendered + " (see --help)", 2);
  }
  if (cfg.cli_helptext_printed)
    return 0;
  if (dump_config) {
    std::cout << cfg.dump();
    return 0;
  }
  if (!cfg.remainder.empty())
    return fail("unknown argument '" + cfg.remainder.front()
                  + "' (see --help)",
                2);
  if (auto problem = cfg.finish())
    return fail(*problem, 2);

  cfg.node.membership.on_id_conflict = [](const std::string&) {
    id_conflict = true;
    ::kill(::getpid(), SIGTERM); // main's sigwait takes it and stops
  };
  caf::actor_system sys{cfg};
  std::unique_ptr<kv::node> node;
  std::unique_ptr<kv::client_port> clients;
  try {
    node = kv::node::start(sys, cfg.node);
  } catch (const std::exception& e) {
    return fail(e.what(), 1);
  }
  try {
    if (cfg.client_port >= 0) {
      kv::client_port_settings surface;
      surface.host = cfg.node.host;
      surface.port = static_cast<uint16_t>(cfg.client_port);
      if (cfg.node.tls.any())
        surface.tls = {cfg.client_ca, cfg.node.tls.cert, cfg.node.tls.key};
      surface.reply_limit
        = cfg.node.max_request_timeout + std::chrono::seconds{5};
      clients = kv::client_port::open(surface, node->coordinator());
    }
  } catch (const std::exception& e) {
    // The node runs: stop it, and end the process the way a stop does
    // (~actor_system may wait for ever, see below).
    fail(e.what(), 1);
    node->stop();
    std::_Exit(1);
  }
  std::cout << "kvnode " << cfg.node.node_id << " ready on " << cfg.node.host
            << ":" << node->port() << " dc=" << cfg.node.dc
            << " data=" << cfg.node.storage.data_dir << std::endl;

  int received = 0;
  sigwait(&stop_signals, &received);
  kv::log_line(kv::log_level::info,
               id_conflict ? std::string{"stopping: another live node has "
                                         "this node id"}
                           : std::string{"stopping on "}
                               + (received == SIGINT ? "SIGINT" : "SIGTERM"));
  // Shutdown is bounded whatever the network does (CAF's middleman can be
  // stuck in a blocking connect): every acknowledged write is already in
  // the journal, so ending here is as safe as a kill -9.
  std::thread{[] {
    std::this_thread::sleep_for(shutdown_limit);
    kv::log_line(kv::log_level::error,
                 "shutdown did not finish within "
                   + std::to_string(shutdown_limit.count())
                   + " s; exiting now (the journal replays on restart)");
    std::_Exit(4);
  }}.detach();
  if (clients)
    clients->close();
  node->stop();
  node.reset();
  kv::log_line(kv::log_level::info, "stopped cleanly");
  std::cout.flush();
  std::fflush(nullptr);
  // Every storage actor has closed its WiredTiger session and the engine is
  // closed (stop() waited for them). CAF 0.17's ~actor_system would now wait
  // until no reference to any detached actor is left, and handles that went
  // to peers can keep one alive indefinitely; nothing is left to save, so
  // end the process here.
  std::_Exit(id_conflict ? 3 : 0);
}
