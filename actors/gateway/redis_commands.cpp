#include "actors/gateway/redis_commands.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <tuple>

#include "messages/version.hpp"

namespace kv::redis {

namespace {

// redis-server's versions decide what clients dare send: the gateway
// answers as a 7.0 server, whose commands it follows.
constexpr const char* compatible_redis_version = "7.0.0";

} // namespace

const std::vector<command_info>& commands() {
  static const std::vector<command_info> table{
    {"ping", -1, "fast", 0, 0, 0},
    {"echo", 2, "fast", 0, 0, 0},
    {"quit", -1, "fast", 0, 0, 0},
    {"hello", -1, "fast noauth", 0, 0, 0},
    {"auth", -2, "fast noauth", 0, 0, 0},
    {"select", 2, "fast", 0, 0, 0},
    {"command", -1, "", 0, 0, 0},
    {"client", -2, "", 0, 0, 0},
    {"info", -1, "", 0, 0, 0},
    {"config", -2, "", 0, 0, 0},
    {"dbsize", 1, "readonly fast", 0, 0, 0},
    {"get", 2, "readonly fast", 1, 1, 1},
    {"set", -3, "write", 1, 1, 1},
    {"mget", -2, "readonly fast", 1, -1, 1},
    {"mset", -3, "write", 1, -1, 2},
    {"del", -2, "write", 1, -1, 1},
    {"exists", -2, "readonly fast", 1, -1, 1},
    {"getdel", 2, "write fast", 1, 1, 1},
    {"strlen", 2, "readonly fast", 1, 1, 1},
    {"kv.get", 2, "readonly", 1, 1, 1},
    {"kv.put", -3, "write", 1, 1, 1},
    {"kv.consistency", -1, "fast", 0, 0, 0},
  };
  return table;
}

std::string lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool same_word(std::string_view a, std::string_view b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x))
                     == std::tolower(static_cast<unsigned char>(y));
            });
}

const command_info* find_command(std::string_view name) {
  for (auto& command : commands())
    if (same_word(command.name, name))
      return &command;
  return nullptr;
}

bool arity_fits(const command_info& command, std::size_t args) {
  return command.arity >= 0
           ? args == static_cast<std::size_t>(command.arity)
           : args >= static_cast<std::size_t>(-command.arity);
}

std::optional<std::string> parse_set_options(
  const std::vector<std::string>& args, std::size_t first, set_request& out) {
  for (auto i = first; i < args.size(); ++i) {
    auto& word = args[i];
    if (same_word(word, "nx") || same_word(word, "xx")) {
      auto wanted = same_word(word, "nx") ? set_request::condition::if_absent
                                          : set_request::condition::if_present;
      if (out.when != set_request::condition::always && out.when != wanted)
        return std::string{"syntax error"};
      out.when = wanted;
    } else if (same_word(word, "get")) {
      out.return_old = true;
    } else if (same_word(word, "keepttl")) {
      // Keys never expire here: there is no time to live to keep.
    } else if (same_word(word, "ex") || same_word(word, "px")
               || same_word(word, "exat") || same_word(word, "pxat")) {
      return "expiry (" + lower(word)
             + ") is not supported: keys in this store never expire";
    } else {
      return std::string{"syntax error"};
    }
  }
  return std::nullopt;
}

namespace {

// One consistency value: a count, a level name, or "default" (0).
std::optional<uint32_t> consistency_value(std::string_view word) {
  if (same_word(word, "default"))
    return 0u;
  if (same_word(word, "one"))
    return 1u;
  if (same_word(word, "quorum"))
    return level_quorum;
  if (same_word(word, "all"))
    return level_all;
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(),
                                   value);
  if (ec != std::errc{} || end != word.data() + word.size() || value == 0
      || value > 64)
    return std::nullopt;
  return value;
}

} // namespace

std::optional<std::string> parse_consistency(
  const std::vector<std::string>& args, std::size_t first,
  request_options& options) {
  if (args.size() - first != 3)
    return std::string{"KV.CONSISTENCY takes n r w (each a number from 1 to "
                       "64, one, quorum, all or default), or nothing to "
                       "show them"};
  uint32_t values[3];
  const char* names[3] = {"n", "r", "w"};
  for (std::size_t i = 0; i < 3; ++i) {
    auto value = consistency_value(args[first + i]);
    if (!value)
      return std::string{names[i]} + " '" + args[first + i]
             + "' is not a number from 1 to 64, one, quorum, all or default";
    values[i] = *value;
  }
  if (values[0] == level_quorum || values[0] == level_all)
    return std::string{"n must be a number or default"};
  options.n = values[0];
  options.r = values[1];
  options.w = values[2];
  return std::nullopt;
}

std::string describe_consistency(const request_options& options) {
  return "n=" + consistency_level_name(options.n)
         + " r=" + consistency_level_name(options.r)
         + " w=" + consistency_level_name(options.w);
}

const versioned_value* pick_sibling(const sibling_list& siblings) {
  const versioned_value* best = nullptr;
  for (auto& version : siblings) {
    if (version.tombstone)
      continue;
    if (!best
        || std::tie(version.timestamp_ms, version.origin.node,
                    version.origin.counter)
             > std::tie(best->timestamp_ms, best->origin.node,
                        best->origin.counter))
      best = &version;
  }
  return best;
}

uint64_t live_keys(const node_stats& node) {
  return node.store.keys > node.store.tombstones
           ? node.store.keys - node.store.tombstones
           : 0;
}

std::string info_text(std::string_view section, const gateway_figures& gateway,
                      const node_stats& node, const cluster_figures& cluster) {
  auto every = section.empty() || same_word(section, "default")
               || same_word(section, "all") || same_word(section, "everything");
  auto wants = [&](std::string_view name) {
    return every || same_word(section, name);
  };
  std::string text;
  auto line = [&](std::string_view key, const std::string& value) {
    text.append(key).append(":").append(value).append("\r\n");
  };
  auto head = [&](std::string_view name) {
    if (!text.empty())
      text += "\r\n";
    text.append("# ").append(name).append("\r\n");
  };
  if (wants("server")) {
    head("Server");
    line("redis_version", compatible_redis_version);
    line("redis_mode", "standalone");
    line("kvactors_version", kv::version);
    line("kvactors_node", node.node_id);
    line("kvactors_dc", node.dc);
    line("tcp_port", std::to_string(gateway.port));
    line("uptime_in_seconds", std::to_string(gateway.uptime_s));
  }
  if (wants("clients")) {
    head("Clients");
    line("connected_clients", std::to_string(gateway.connected_clients));
  }
  if (wants("stats")) {
    head("Stats");
    line("total_connections_received",
         std::to_string(gateway.connections_received));
    line("rejected_connections", std::to_string(gateway.connections_rejected));
    line("total_commands_processed",
         std::to_string(gateway.commands_processed));
    line("protocol_errors", std::to_string(gateway.protocol_errors));
    line("get_sibling_picks", std::to_string(gateway.sibling_picks));
    line("node_sibling_reads", std::to_string(node.sibling_reads));
    line("node_read_repairs", std::to_string(node.read_repairs));
  }
  if (wants("keyspace")) {
    head("Keyspace");
    line("db0", "keys=" + std::to_string(live_keys(node))
                  + ",expires=0,avg_ttl=0");
  }
  if (wants("cluster")) {
    head("Cluster");
    // Not Redis Cluster: clients must not try its protocol (MOVED, slots).
    line("cluster_enabled", "0");
    line("kvactors_members", std::to_string(cluster.members));
    line("kvactors_members_up", std::to_string(cluster.members_up));
  }
  return text;
}

} // namespace kv::redis
