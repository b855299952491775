#pragma once

// What the Redis gateway's commands mean, apart from the connection that
// carries them: the command table (COMMAND, arity checks), the arguments of
// SET and KV.CONSISTENCY, the value GET shows when a key has siblings, and
// INFO's text. No CAF; unit-tested in tests/unit/test_resp_codec.cpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messages/node_stats.hpp"
#include "messages/request.hpp"
#include "messages/versioned_value.hpp"

namespace kv::redis {

// One command the gateway serves, as COMMAND describes it to clients.
struct command_info {
  const char* name;  // lower case, as redis-server lists it
  int arity;         // argument count with the name; negative: at least
  const char* flags; // space separated: "write", "readonly", "fast"...
  int first_key;     // 0: no key
  int last_key;      // -1: the last argument
  int key_step;
};

// Every command served, in the order COMMAND lists them.
const std::vector<command_info>& commands();

// The command named `name` (any case), or null.
const command_info* find_command(std::string_view name);

// Whether `args` (name included) fits the command's arity.
bool arity_fits(const command_info& command, std::size_t args);

std::string lower(std::string_view text);
bool same_word(std::string_view a, std::string_view b); // case-insensitive

// SET key value [NX | XX] [GET] [KEEPTTL]: what it asks.
struct set_request {
  enum class condition { always, if_absent, if_present };
  condition when = condition::always;
  bool return_old = false; // GET: reply with the value before
};

// SET's options (the arguments after key and value), or why they are
// wrong, in redis-server's words where it has them. Expiry (EX, PX, EXAT,
// PXAT) is refused: keys never expire in this store.
std::optional<std::string> parse_set_options(
  const std::vector<std::string>& args, std::size_t first, set_request& out);

// KV.CONSISTENCY's arguments (n r w, each a number, or one / quorum / all,
// or default), applied to `options`; an error text if one is wrong.
std::optional<std::string> parse_consistency(
  const std::vector<std::string>& args, std::size_t first,
  request_options& options);

// "n=3 r=quorum w=2": a connection's consistency for people.
std::string describe_consistency(const request_options& options);

// The value a plain GET returns when a key holds concurrent versions: the
// latest by its coordinator's wall clock, ties broken by the origin's dot,
// so every gateway shows the same one for the same set. Null for none.
const versioned_value* pick_sibling(const sibling_list& siblings);

// The figures INFO shows besides the node's own.
struct gateway_figures {
  uint64_t connected_clients = 0;
  uint64_t connections_received = 0;
  uint64_t connections_rejected = 0;
  uint64_t commands_processed = 0;
  uint64_t sibling_picks = 0; // GETs that chose one of several siblings
  uint64_t protocol_errors = 0;
  uint64_t uptime_s = 0;
  uint16_t port = 0;
};

struct cluster_figures {
  std::size_t members = 0;
  std::size_t members_up = 0;
  std::string node_id;
  std::string dc;
};

// INFO's text for `section` ("" or "default", "all", "everything", or one
// of server, clients, stats, keyspace, cluster; any case). An unknown
// section gives an empty text, as in redis-server.
std::string info_text(std::string_view section, const gateway_figures& gateway,
                      const node_stats& node, const cluster_figures& cluster);

// The keys this node holds with a live value: DBSIZE's answer.
uint64_t live_keys(const node_stats& node);

} // namespace kv::redis
