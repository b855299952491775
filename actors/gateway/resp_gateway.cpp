#include "actors/gateway/resp_gateway.hpp"

#include <deque>
#include <functional>
#include <memory>
#include <unordered_map>

#include <sys/socket.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <openssl/crypto.h>

#include "actors/broker_port.hpp"
#include "actors/gateway/redis_commands.hpp"
#include "actors/gateway/resp_codec.hpp"
#include "messages/caf_types.hpp"
#include "messages/limits.hpp"

namespace kv {

namespace {

using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

// How often replies the node owes longer than reply_limit are given up.
constexpr auto sweep_interval = std::chrono::seconds{1};

// Bytes a connection reads at once: redis-server's own read size.
constexpr std::size_t read_chunk = 16 * 1024;

// Bytes a closing connection may still send (the rest of the command that
// broke the protocol) before it is cut off.
constexpr std::size_t max_dropped_bytes = 1024 * 1024;

// Keys one command may name (MGET, EXISTS, DEL; MSET pairs).
constexpr std::size_t max_command_keys = 1024;

// The values one command's reads may bring back before it fails: what a
// connection may have unsent anyway.
constexpr std::size_t max_command_reply_bytes = 8 * 1024 * 1024;

// What a connection may send before it authenticates (redis-server's own
// bounds for unauthenticated clients): HELLO and AUTH fit.
resp::reader_limits unauthenticated_limits() {
  resp::reader_limits limits;
  limits.max_arguments = 10;
  limits.max_bulk_bytes = 16 * 1024;
  limits.max_command_bytes = 64 * 1024;
  limits.max_inline_bytes = 16 * 1024;
  return limits;
}

// One reply, in the order its command arrived, and the keys its command
// works on until it is ready.
struct reply_slot {
  bool ready = false;
  std::string bytes;
  std::vector<std::string> keys;
  std::size_t requests = 0; // to the coordinator, counted until ready
  std::chrono::steady_clock::time_point started
    = std::chrono::steady_clock::now();
};

struct connection {
  uint64_t serial = 0; // handle ids are socket numbers, reused
  uint64_t client_id = 0;
  resp::reader reader;
  int protocol = 2; // RESP2 until HELLO 3
  bool authenticated = false;
  bool closing = false; // QUIT or a protocol error: close once replied
  std::size_t dropped_bytes = 0; // received while closing
  std::chrono::steady_clock::time_point closing_since;
  std::string name; // CLIENT SETNAME
  std::string address;
  request_options options; // KV.CONSISTENCY
  std::deque<reply_slot> replies;
  uint64_t first_sequence = 0; // the sequence number of replies.front()
  // Commands of one connection run in their order where it matters: one
  // that touches a key an earlier one is still working on waits for it
  // (a pipelined GET sees the SET before it). Others run at once.
  std::unordered_map<std::string, std::size_t> keys_in_flight;
  std::vector<std::string> waiting; // a command parsed, not yet run
  std::vector<std::string> waiting_keys;
  std::size_t unsent_bytes = 0; // written, not yet taken by the client
  std::size_t ready_bytes = 0;  // replies ready behind one still owed
  std::size_t requests_in_flight = 0; // to the coordinator
  // The last time the client took replies (or connected): one with replies
  // unsent and no progress for long is cut off.
  std::chrono::steady_clock::time_point last_progress
    = std::chrono::steady_clock::now();
  std::size_t counted_unread = 0; // reader.buffered() as last counted
  std::string last_command;
};

struct gateway_state {
  resp_gateway_settings settings;
  std::unordered_map<int64_t, connection> connections; // by handle id
  uint64_t accepted = 0;
  // Shared with the requests' handlers, which CAF may destroy after this
  // state at shutdown.
  std::shared_ptr<std::size_t> bytes_in_flight
    = std::make_shared<std::size_t>(0);
  // Requests to the coordinator not yet answered, over all connections.
  std::size_t requests_in_flight = 0;
  std::size_t unread_bytes = 0; // received and not yet run, all connections
  resp::reader_limits limits;   // of an authenticated connection
  redis::gateway_figures figures;
  std::chrono::steady_clock::time_point started
    = std::chrono::steady_clock::now();
  static inline const char* name = "resp_gateway";
};

using gateway_pointer = caf::io::stateful_broker<gateway_state>*;

// Where a command's reply goes: a slot of a connection, which may have
// closed (and its socket number been reused) when the reply arrives.
struct reply_target {
  int64_t id;
  uint64_t serial;
  uint64_t sequence;
};

connection* find_connection(gateway_pointer self, int64_t id,
                            uint64_t serial) {
  auto i = self->state.connections.find(id);
  if (i == self->state.connections.end() || i->second.serial != serial)
    return nullptr;
  return &i->second;
}

void pump(gateway_pointer self, int64_t id);

void release_keys(connection& c, reply_slot& slot) {
  for (auto& key : slot.keys) {
    auto i = c.keys_in_flight.find(key);
    if (i != c.keys_in_flight.end() && --i->second == 0)
      c.keys_in_flight.erase(i);
  }
  slot.keys.clear();
}

// Every reply becomes ready here: its bytes count against the connection
// until they are written, and its keys are free for the next command.
void fill(gateway_state& st, connection& c, reply_slot& slot,
          std::string bytes) {
  slot.ready = true;
  slot.bytes = std::move(bytes);
  c.ready_bytes += slot.bytes.size();
  release_keys(c, slot);
  c.requests_in_flight -= std::min(c.requests_in_flight, slot.requests);
  st.requests_in_flight -= std::min(st.requests_in_flight, slot.requests);
  slot.requests = 0;
}

void start_closing(connection& c) {
  if (c.closing)
    return;
  c.closing = true;
  c.closing_since = std::chrono::steady_clock::now();
}

// Ends a connection whose client does not read: CAF 0.17's close waits
// until everything written is sent, which such a client never allows, so
// the socket would stay open with its buffers. Shutting it down makes the
// pending write fail and CAF drop the socket. CAF's default multiplexer
// uses the socket itself as the connection handle's id.
void abort_connection(gateway_pointer self, caf::io::connection_handle hdl) {
  ::shutdown(static_cast<int>(hdl.id()), SHUT_RDWR);
  self->close(hdl);
}

// Drops the connection's state (its socket is closed or closing).
void forget(gateway_pointer self, int64_t id) {
  auto& st = self->state;
  auto i = st.connections.find(id);
  if (i == st.connections.end())
    return;
  st.unread_bytes -= std::min(st.unread_bytes, i->second.counted_unread);
  st.connections.erase(i);
}

// Brings the gateway's count of unread input up to date with `c`'s.
void count_unread(gateway_state& st, connection& c) {
  auto now = c.reader.buffered();
  st.unread_bytes = st.unread_bytes - std::min(st.unread_bytes, c.counted_unread)
                    + now;
  c.counted_unread = now;
}

// Writes the replies that are ready, in order, and reads on if the
// connection has room again.
void flush_ready(gateway_pointer self, int64_t id, connection& c) {
  auto hdl = caf::io::connection_handle::from_int(id);
  bool wrote = false;
  while (!c.replies.empty() && c.replies.front().ready) {
    auto& bytes = c.replies.front().bytes;
    if (!bytes.empty()) {
      auto& buf = self->wr_buf(hdl);
      buf.insert(buf.end(), bytes.begin(), bytes.end());
      c.unsent_bytes += bytes.size();
      wrote = true;
    }
    c.ready_bytes -= std::min(c.ready_bytes, bytes.size());
    c.replies.pop_front();
    ++c.first_sequence;
  }
  if (wrote)
    self->flush(hdl);
  if (c.closing && c.replies.empty()) {
    // Closed once the client has taken the last reply (data_transferred).
    if (c.unsent_bytes == 0) {
      forget(self, id);
      self->close(hdl);
    }
  }
}

void complete(gateway_pointer self, const reply_target& to,
              std::string bytes) {
  auto c = find_connection(self, to.id, to.serial);
  if (!c || to.sequence < c->first_sequence)
    return;
  auto& slot = c->replies[to.sequence - c->first_sequence];
  if (slot.ready)
    return; // given up by the sweep: the client has its error
  fill(self->state, *c, slot, std::move(bytes));
  flush_ready(self, to.id, *c);
  pump(self, to.id);
}

// A Redis error reply for a failed request: retryable failures (no quorum
// in time, no replica reachable) as TRYAGAIN, the rest as ERR.
std::string error_reply(const caf::error& err) {
  std::string out;
  auto retryable = err == caf::sec::request_timeout
                   || is_kv_error(err, kv_errc::write_quorum_failed)
                   || is_kv_error(err, kv_errc::read_quorum_failed)
                   || is_kv_error(err, kv_errc::unavailable);
  resp::error(out, (retryable ? "TRYAGAIN " : "ERR ") + describe(err));
  return out;
}

std::string error_text(std::string_view message) {
  std::string out;
  resp::error(out, message);
  return out;
}

std::string ok_reply() {
  return "+OK\r\n";
}

// Gives up the replies the node owes for longer than reply_limit. Requests
// to the coordinator carry no timeout of their own: a timer per request
// goes through CAF 0.17's one clock thread and costs more than the request
// (docs/performance.md), and the coordinator answers within the request's
// own timeout anyway. This bound is for a node that is broken.
void sweep(gateway_pointer self) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  std::vector<int64_t> touched;
  std::vector<int64_t> stuck;
  for (auto& [id, c] : st.connections) {
    // A client that stopped reading after QUIT or a protocol error, or
    // that has replies waiting and took none for that long.
    if ((c.closing && c.closing_since + st.settings.reply_limit <= now)
        || (c.unsent_bytes > 0
            && c.last_progress + st.settings.reply_limit <= now)) {
      stuck.push_back(id);
      continue;
    }
    bool expired = false;
    for (auto& slot : c.replies) {
      if (slot.started + st.settings.reply_limit > now)
        break; // the slots are in the order they started
      if (slot.ready)
        continue;
      fill(st, c, slot,
           error_text("TRYAGAIN the node did not answer within "
                      + std::to_string(st.settings.reply_limit.count())
                      + " ms"));
      expired = true;
    }
    if (expired)
      touched.push_back(id);
  }
  for (auto id : stuck) {
    forget(self, id);
    abort_connection(self, caf::io::connection_handle::from_int(id));
  }
  for (auto id : touched) {
    auto i = st.connections.find(id);
    if (i != st.connections.end())
      flush_ready(self, id, i->second);
    pump(self, id);
  }
}

// What a request to the coordinator costs while it is out (its bytes and
// a fixed share for CAF's bookkeeping), or the values a command holds until
// its reply is made, counted against the gateway's bound while held.
constexpr std::size_t request_overhead = 512;

class in_flight {
public:
  in_flight(gateway_pointer self, std::size_t bytes)
    : total_(self->state.bytes_in_flight), bytes_(0) {
    add(bytes);
  }
  ~in_flight() {
    *total_ -= std::min(*total_, bytes_);
  }
  in_flight(const in_flight&) = delete;
  in_flight& operator=(const in_flight&) = delete;

  void add(std::size_t size) {
    bytes_ += size;
    *total_ += size;
  }

  std::size_t bytes() const { return bytes_; }

private:
  std::shared_ptr<std::size_t> total_;
  std::size_t bytes_;
};

using get_callback = std::function<void(caf::expected<get_result>)>;
using put_callback = std::function<void(caf::expected<put_result>)>;

void get_key(gateway_pointer self, const std::string& key,
             const request_options& options, get_callback done) {
  auto held = std::make_shared<in_flight>(self, key.size() + request_overhead);
  self
    ->request(self->state.settings.coordinator,
              caf::infinite, get_atom::value, key, options)
    .then([done, held](get_result& result) { done(std::move(result)); },
          [done, held](caf::error& err) { done(std::move(err)); });
}

void put_key(gateway_pointer self, const std::string& key, std::string value,
             const vector_clock& context, const request_options& options,
             put_callback done) {
  auto held = std::make_shared<in_flight>(self, key.size() + value.size()
                                                   + request_overhead);
  self
    ->request(self->state.settings.coordinator,
              caf::infinite, put_atom::value, key,
              std::move(value), context, options)
    .then([done, held](put_result& result) { done(std::move(result)); },
          [done, held](caf::error& err) { done(std::move(err)); });
}

void delete_key(gateway_pointer self, const std::string& key,
                const vector_clock& context, const request_options& options,
                put_callback done) {
  auto held = std::make_shared<in_flight>(self, key.size() + request_overhead);
  self
    ->request(self->state.settings.coordinator,
              caf::infinite, delete_atom::value, key,
              context, options)
    .then([done, held](put_result& result) { done(std::move(result)); },
          [done, held](caf::error& err) { done(std::move(err)); });
}

// The value a plain GET shows, counting a pick among siblings.
const versioned_value* shown(gateway_pointer self, const get_result& result) {
  if (result.siblings.size() > 1)
    ++self->state.figures.sibling_picks;
  return redis::pick_sibling(result.siblings);
}

std::string value_or_null(const versioned_value* value, int protocol) {
  std::string out;
  if (value)
    resp::bulk(out, value->value);
  else
    resp::null(out, protocol);
  return out;
}

// Options of a write that overwrites (SET, MSET, DEL, GETDEL).
request_options overwriting(request_options options) {
  options.overwrite = true;
  return options;
}

// Runs `each(i, done)` for keys [first, last) of a command at once, and
// `finish` with the results in order once all are in, or with the first
// error.
template <class Result>
void fan_out(std::size_t count,
             std::function<void(std::size_t,
                                std::function<void(caf::expected<Result>)>)>
               each,
             std::function<void(caf::expected<std::vector<Result>>)> finish) {
  struct gathered {
    std::vector<Result> results;
    std::size_t remaining;
    caf::error failure;
  };
  auto all = std::make_shared<gathered>();
  all->results.resize(count);
  all->remaining = count;
  for (std::size_t i = 0; i < count; ++i)
    each(i, [all, i, finish](caf::expected<Result> got) {
      if (!got && !all->failure) {
        all->failure = got.error();
        // The command has failed: what came back is not held any longer.
        all->results.clear();
        all->results.shrink_to_fit();
      } else if (got && !all->failure) {
        all->results[i] = std::move(*got);
      }
      if (--all->remaining > 0)
        return;
      if (all->failure)
        finish(all->failure);
      else
        finish(std::move(all->results));
    });
}

std::string command_entry(const redis::command_info& command) {
  std::string out;
  resp::array(out, 6);
  resp::bulk(out, command.name);
  resp::integer(out, command.arity);
  std::vector<std::string> flags;
  std::string flag;
  for (const char* p = command.flags;; ++p) {
    if (*p == ' ' || *p == '\0') {
      if (!flag.empty())
        flags.push_back(flag);
      flag.clear();
      if (*p == '\0')
        break;
    } else {
      flag += *p;
    }
  }
  resp::array(out, flags.size());
  for (auto& f : flags)
    resp::simple(out, f);
  resp::integer(out, command.first_key);
  resp::integer(out, command.last_key);
  resp::integer(out, command.key_step);
  return out;
}

std::string command_reply(const std::vector<std::string>& args) {
  std::string out;
  auto& table = redis::commands();
  if (args.size() == 1) {
    resp::array(out, table.size());
    for (auto& command : table)
      out += command_entry(command);
    return out;
  }
  auto& sub = args[1];
  if (redis::same_word(sub, "count")) {
    resp::integer(out, static_cast<int64_t>(table.size()));
  } else if (redis::same_word(sub, "docs")) {
    // No documentation to give: redis-cli then shows no hints.
    resp::array(out, 0);
  } else if (redis::same_word(sub, "list")) {
    resp::array(out, table.size());
    for (auto& command : table)
      resp::bulk(out, command.name);
  } else if (redis::same_word(sub, "info")) {
    resp::array(out, args.size() - 2);
    for (std::size_t i = 2; i < args.size(); ++i) {
      if (auto command = redis::find_command(args[i]))
        out += command_entry(*command);
      else
        resp::null_array(out, 2);
    }
  } else {
    resp::error(out, "ERR unknown subcommand '" + resp::one_line(sub)
                       + "'. Try COMMAND HELP.");
  }
  return out;
}

std::string hello_map(const connection& c) {
  std::string out;
  resp::map(out, 7, c.protocol);
  resp::bulk(out, "server");
  resp::bulk(out, "redis");
  resp::bulk(out, "version");
  resp::bulk(out, "7.0.0");
  resp::bulk(out, "proto");
  resp::integer(out, c.protocol);
  resp::bulk(out, "id");
  resp::integer(out, static_cast<int64_t>(c.client_id));
  resp::bulk(out, "mode");
  resp::bulk(out, "standalone");
  resp::bulk(out, "role");
  resp::bulk(out, "master");
  resp::bulk(out, "modules");
  resp::array(out, 0);
  return out;
}

bool password_matches(const std::string& expected, const std::string& given) {
  return expected.size() == given.size()
         && CRYPTO_memcmp(expected.data(), given.data(), given.size()) == 0;
}

std::string client_line(const connection& c) {
  return "id=" + std::to_string(c.client_id) + " addr=" + c.address
         + " name=" + c.name + " db=0 resp=" + std::to_string(c.protocol)
         + " cmd=" + c.last_command;
}

// Why `name` cannot be a client name (CLIENT SETNAME, HELLO SETNAME).
std::optional<std::string> name_problem(const std::string& name) {
  if (name.size() > 256)
    return std::string{"ERR client names are at most 256 bytes here"};
  for (char ch : name)
    if (ch <= ' ' || ch > '~')
      return std::string{"ERR Client names cannot contain spaces, newlines "
                         "or special characters."};
  return std::nullopt;
}

std::string client_reply(gateway_pointer self, connection& c,
                         const std::vector<std::string>& args) {
  std::string out;
  auto& sub = args[1];
  if (redis::same_word(sub, "setname") && args.size() == 3) {
    if (auto problem = name_problem(args[2])) {
      resp::error(out, *problem);
      return out;
    }
    c.name = args[2];
    return ok_reply();
  }
  if (redis::same_word(sub, "getname") && args.size() == 2) {
    if (c.name.empty())
      resp::null(out, c.protocol);
    else
      resp::bulk(out, c.name);
    return out;
  }
  if (redis::same_word(sub, "id") && args.size() == 2) {
    resp::integer(out, static_cast<int64_t>(c.client_id));
    return out;
  }
  if (redis::same_word(sub, "info") && args.size() == 2) {
    resp::bulk(out, client_line(c) + "\n");
    return out;
  }
  if (redis::same_word(sub, "list") && args.size() == 2) {
    // Bounded: the first connections' lines up to 1 MiB.
    std::string text;
    for (auto& [key, other] : self->state.connections) {
      if (text.size() > 1024 * 1024)
        break;
      text += client_line(other) + "\n";
    }
    resp::bulk(out, text);
    return out;
  }
  // Library names and versions (CLIENT SETINFO) and the switches some
  // clients set on connect are accepted and have no effect here.
  if ((redis::same_word(sub, "setinfo") && args.size() == 4)
      || ((redis::same_word(sub, "no-evict")
           || redis::same_word(sub, "no-touch"))
          && args.size() == 3))
    return ok_reply();
  resp::error(out, "ERR unknown subcommand or wrong number of arguments for '"
                     + resp::one_line(sub) + "'. Try CLIENT HELP.");
  return out;
}

std::string config_reply(const gateway_state& st,
                         const std::vector<std::string>& args) {
  std::string out;
  if (!redis::same_word(args[1], "get")) {
    resp::error(out, "ERR CONFIG " + resp::one_line(redis::lower(args[1]))
                       + " is not supported: kvnode is configured with its "
                         "flags (kvnode --help)");
    return out;
  }
  // What redis-benchmark and clients ask on connect: this store saves
  // every write (no snapshots to configure) and has one database.
  std::vector<std::pair<std::string, std::string>> known{
    {"save", ""},
    {"appendonly", "no"},
    {"databases", "1"},
    {"maxmemory", "0"},
    {"port", std::to_string(st.figures.port)},
    {"proto-max-bulk-len", std::to_string(st.settings.max_value_bytes)},
  };
  std::vector<std::pair<std::string, std::string>> matched;
  for (std::size_t i = 2; i < args.size(); ++i)
    for (auto& entry : known)
      if (args[i] == "*" || redis::same_word(args[i], entry.first))
        matched.push_back(entry);
  resp::map(out, matched.size(), 2); // CONFIG GET is a flat array in RESP2
  if (matched.empty())
    return out;
  for (auto& [name, value] : matched) {
    resp::bulk(out, name);
    resp::bulk(out, value);
  }
  return out;
}

void reply_later(gateway_pointer self, const reply_target& to,
                 std::string bytes) {
  complete(self, to, std::move(bytes));
}

void info_or_dbsize(gateway_pointer self, const reply_target& to,
                    int protocol, bool dbsize, std::string section) {
  auto& st = self->state.settings;
  self->request(st.monitor, st.reply_limit, get_atom::value, stats_atom::value)
    .then(
      [=](node_stats& stats) {
        if (dbsize) {
          std::string out;
          resp::integer(out, static_cast<int64_t>(redis::live_keys(stats)));
          reply_later(self, to, std::move(out));
          return;
        }
        self
          ->request(self->state.settings.coordinator,
                    self->state.settings.reply_limit, get_atom::value,
                    members_atom::value)
          .then(
            [=](std::vector<member_info>& members) {
              auto& fig = self->state.figures;
              fig.connected_clients = self->state.connections.size();
              fig.uptime_s = static_cast<uint64_t>(
                std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::steady_clock::now() - self->state.started)
                  .count());
              redis::cluster_figures cluster;
              cluster.members = members.size();
              for (auto& m : members)
                cluster.members_up += m.status == member_status::up;
              std::string out;
              resp::verbatim(out,
                             redis::info_text(section, fig, stats, cluster),
                             protocol);
              reply_later(self, to, std::move(out));
            },
            [=](caf::error& err) { reply_later(self, to, error_reply(err)); });
      },
      [=](caf::error& err) { reply_later(self, to, error_reply(err)); });
}

// SET with NX, XX or GET: read, decide, then write over what was read.
void conditional_set(gateway_pointer self, const reply_target& to,
                     int protocol, request_options options, std::string key,
                     std::string value, redis::set_request how) {
  // The value waits for the read: it counts while it does.
  auto held = std::make_shared<in_flight>(self, value.size());
  get_key(self, key, options, [=](caf::expected<get_result> read) mutable {
    if (!read) {
      reply_later(self, to, error_reply(read.error()));
      return;
    }
    auto old = shown(self, *read);
    auto old_reply = value_or_null(old, protocol);
    using cond = redis::set_request::condition;
    if ((how.when == cond::if_absent && old)
        || (how.when == cond::if_present && !old)) {
      std::string none;
      resp::null(none, protocol);
      reply_later(self, to, how.return_old ? old_reply : none);
      return;
    }
    // Over what was read only: a write the read did not see (another
    // client's SET meanwhile) stays, as a sibling, instead of vanishing.
    put_key(self, key, std::move(value), read->context, options,
            [=](caf::expected<put_result> written) {
              if (!written)
                reply_later(self, to, error_reply(written.error()));
              else
                reply_later(self, to,
                            how.return_old ? old_reply : ok_reply());
            });
  });
}

// Checks a key the way the coordinator would, so a bad key in MGET or MSET
// fails the command before any of it is sent.
std::optional<std::string> key_error(const std::string& key) {
  if (auto problem = key_problem(key))
    return "ERR " + *problem;
  return std::nullopt;
}

// Runs one command: the gateway's own are answered at once, the rest ask
// the node and answer into `to` later.
void execute(gateway_pointer self, connection& c,
             std::vector<std::string>& args, const reply_target& to) {
  auto& st = self->state;
  auto now = [&](std::string bytes) {
    fill(st, c, c.replies[to.sequence - c.first_sequence], std::move(bytes));
  };
  auto command = redis::find_command(args[0]);
  c.last_command = command ? command->name : "unknown";
  if (!command) {
    std::string args_text;
    for (std::size_t i = 1; i < args.size() && i < 4; ++i)
      args_text += "'" + resp::one_line(args[i].substr(0, 64)) + "' ";
    now(error_text("ERR unknown command '" + resp::one_line(args[0].substr(0, 128))
                   + "', with args beginning with: " + args_text));
    return;
  }
  std::string name = command->name;
  if (!redis::arity_fits(*command, args.size())) {
    now(error_text("ERR wrong number of arguments for '" + name
                   + "' command"));
    return;
  }
  if (!c.authenticated && name != "auth" && name != "hello" && name != "quit") {
    now(error_text("NOAUTH Authentication required."));
    return;
  }
  int protocol = c.protocol;
  auto options = c.options;
  if (name == "ping") {
    if (args.size() > 2) {
      now(error_text("ERR wrong number of arguments for 'ping' command"));
      return;
    }
    std::string out;
    if (args.size() == 2)
      resp::bulk(out, args[1]);
    else
      resp::simple(out, "PONG");
    now(std::move(out));
  } else if (name == "echo") {
    std::string out;
    resp::bulk(out, args[1]);
    now(std::move(out));
  } else if (name == "quit") {
    start_closing(c);
    now(ok_reply());
  } else if (name == "hello") {
    int wanted = c.protocol;
    std::size_t i = 1;
    if (args.size() > 1) {
      auto& version = args[1];
      if (version == "2" || version == "3") {
        wanted = version[0] - '0';
      } else {
        now(error_text("NOPROTO unsupported protocol version"));
        return;
      }
      i = 2;
    }
    std::string new_name = c.name;
    bool authenticated = c.authenticated;
    for (; i < args.size(); ++i) {
      if (redis::same_word(args[i], "auth") && i + 2 < args.size()) {
        // Without a password any is accepted, as by redis-server's
        // default user.
        if (!st.settings.password.empty()
            && !password_matches(st.settings.password, args[i + 2])) {
          now(error_text("WRONGPASS invalid username-password pair or user "
                         "is disabled."));
          return;
        }
        authenticated = true;
        i += 2;
      } else if (redis::same_word(args[i], "setname") && i + 1 < args.size()) {
        new_name = args[++i];
        if (auto problem = name_problem(new_name)) {
          now(error_text(*problem));
          return;
        }
      } else {
        now(error_text("ERR Syntax error in HELLO option '"
                       + resp::one_line(args[i]) + "'"));
        return;
      }
    }
    if (!authenticated) {
      now(error_text("NOAUTH HELLO must be called with the client already "
                     "authenticated, otherwise the HELLO <proto> AUTH <user> "
                     "<pass> option can be used to authenticate the client "
                     "and select the RESP protocol version at the same "
                     "time"));
      return;
    }
    c.protocol = wanted;
    if (!c.authenticated)
      c.reader.set_limits(st.limits);
    c.authenticated = true;
    c.name = new_name;
    now(hello_map(c));
  } else if (name == "auth") {
    if (args.size() > 3) {
      now(error_text("ERR syntax error"));
      return;
    }
    if (st.settings.password.empty()) {
      now(error_text("ERR AUTH <password> called without any password "
                     "configured for the default user. Are you sure your "
                     "configuration is correct?"));
      return;
    }
    // AUTH password, or AUTH default password (ACL form, one user).
    bool user_ok = args.size() == 2 || args[1] == "default";
    if (!user_ok || !password_matches(st.settings.password, args.back())) {
      now(error_text("WRONGPASS invalid username-password pair or user is "
                     "disabled."));
      return;
    }
    if (!c.authenticated)
      c.reader.set_limits(st.limits);
    c.authenticated = true;
    now(ok_reply());
  } else if (name == "select") {
    now(args[1] == "0" ? ok_reply()
                       : error_text("ERR DB index is out of range"));
  } else if (name == "command") {
    now(command_reply(args));
  } else if (name == "client") {
    now(client_reply(self, c, args));
  } else if (name == "config") {
    now(config_reply(st, args));
  } else if (name == "info" || name == "dbsize") {
    if (args.size() > 2) {
      now(error_text("ERR syntax error"));
      return;
    }
    info_or_dbsize(self, to, protocol, name == "dbsize",
                   args.size() == 2 ? args[1] : std::string{});
  } else if (name == "kv.consistency") {
    if (args.size() == 1) {
      std::string out;
      resp::bulk(out, redis::describe_consistency(c.options));
      now(std::move(out));
      return;
    }
    request_options wanted = c.options;
    if (auto problem = redis::parse_consistency(args, 1, wanted)) {
      now(error_text("ERR " + *problem));
      return;
    }
    c.options = wanted;
    now(ok_reply());
  } else if (name == "get" || name == "strlen") {
    bool length = name == "strlen";
    get_key(self, args[1], options, [=](caf::expected<get_result> got) {
      if (!got) {
        reply_later(self, to, error_reply(got.error()));
        return;
      }
      auto value = shown(self, *got);
      if (!length) {
        reply_later(self, to, value_or_null(value, protocol));
        return;
      }
      std::string out;
      resp::integer(out, value ? static_cast<int64_t>(value->value.size()) : 0);
      reply_later(self, to, std::move(out));
    });
  } else if (name == "set") {
    redis::set_request how;
    if (auto problem = redis::parse_set_options(args, 3, how)) {
      now(error_text("ERR " + *problem));
      return;
    }
    if (how.when == redis::set_request::condition::always && !how.return_old) {
      put_key(self, args[1], std::move(args[2]), {}, overwriting(options),
              [=](caf::expected<put_result> written) {
                reply_later(self, to,
                            written ? ok_reply()
                                    : error_reply(written.error()));
              });
      return;
    }
    conditional_set(self, to, protocol, options, std::move(args[1]),
                    std::move(args[2]), how);
  } else if (name == "getdel") {
    std::string key = args[1];
    get_key(self, key, options, [=](caf::expected<get_result> got) {
      if (!got) {
        reply_later(self, to, error_reply(got.error()));
        return;
      }
      auto old = value_or_null(shown(self, *got), protocol);
      if (got->siblings.empty()) {
        reply_later(self, to, old);
        return;
      }
      // Deletes exactly what it returns (and what else the read saw).
      delete_key(self, key, got->context, options,
                 [=](caf::expected<put_result> done) {
                   reply_later(self, to,
                               done ? old : error_reply(done.error()));
                 });
    });
  } else if (name == "mget" || name == "exists" || name == "del") {
    if (args.size() - 1 > max_command_keys) {
      now(error_text("ERR at most " + std::to_string(max_command_keys)
                     + " keys per command"));
      return;
    }
    std::vector<std::string> keys(args.begin() + 1, args.end());
    for (auto& key : keys)
      if (auto problem = key_error(key)) {
        now(error_text(*problem));
        return;
      }
    auto shared_keys
      = std::make_shared<const std::vector<std::string>>(std::move(keys));
    // The values read are held until the reply is made: bounded per
    // command, and counted in the gateway's bytes in flight.
    auto held = std::make_shared<in_flight>(self, 0);
    auto too_much = std::make_shared<bool>(false);
    fan_out<get_result>(
      shared_keys->size(),
      [=](std::size_t i, get_callback done) {
        get_key(self, (*shared_keys)[i], options,
                [held, too_much, done](caf::expected<get_result> got) {
                  if (got) {
                    std::size_t size = 0;
                    for (auto& sibling : got->siblings)
                      size += sibling.value.size();
                    // Once over the bound nothing more is held.
                    if (*too_much
                        || held->bytes() + size > max_command_reply_bytes) {
                      *too_much = true;
                      done(make_kv_error(
                        kv_errc::invalid_argument,
                        "the values read exceed "
                          + std::to_string(max_command_reply_bytes)
                          + " bytes; ask for fewer keys at once"));
                      return;
                    }
                    held->add(size);
                  }
                  done(std::move(got));
                });
      },
      [=](caf::expected<std::vector<get_result>> results) {
        if (!results) {
          reply_later(self, to, error_reply(results.error()));
          return;
        }
        std::string out;
        if (name == "mget") {
          resp::array(out, results->size());
          for (auto& result : *results)
            out += value_or_null(shown(self, result), protocol);
          reply_later(self, to, std::move(out));
          return;
        }
        int64_t present = 0;
        for (auto& result : *results)
          present += !result.siblings.empty();
        resp::integer(out, present);
        if (name == "exists") {
          reply_later(self, to, std::move(out));
          return;
        }
        // DEL: each key that was read is deleted over what was read and
        // what its coordinating replica holds; one not found is deleted
        // too (a replica outside the read quorum may hold it).
        fan_out<put_result>(
          shared_keys->size(),
          [=](std::size_t i, put_callback done) {
            delete_key(self, (*shared_keys)[i], (*results)[i].context,
                       overwriting(options), std::move(done));
          },
          [=](caf::expected<std::vector<put_result>> deleted) {
            reply_later(self, to,
                        deleted ? out : error_reply(deleted.error()));
          });
      });
  } else if (name == "mset") {
    if (args.size() % 2 != 1) {
      now(error_text("ERR wrong number of arguments for 'mset' command"));
      return;
    }
    if (args.size() / 2 > max_command_keys) {
      now(error_text("ERR at most " + std::to_string(max_command_keys)
                     + " keys per command"));
      return;
    }
    for (std::size_t i = 1; i < args.size(); i += 2)
      if (auto problem = key_error(args[i])) {
        now(error_text(*problem));
        return;
      }
    auto pairs = std::make_shared<std::vector<std::string>>(
      std::make_move_iterator(args.begin() + 1),
      std::make_move_iterator(args.end()));
    fan_out<put_result>(
      pairs->size() / 2,
      [=](std::size_t i, put_callback done) {
        put_key(self, (*pairs)[2 * i], std::move((*pairs)[2 * i + 1]), {},
                overwriting(options), std::move(done));
      },
      [=](caf::expected<std::vector<put_result>> written) {
        reply_later(self, to,
                    written ? ok_reply()
                            : error_text("ERR some keys may be written: "
                                         + describe(written.error())));
      });
  } else if (name == "kv.get") {
    get_key(self, args[1], options, [=](caf::expected<get_result> got) {
      if (!got) {
        reply_later(self, to, error_reply(got.error()));
        return;
      }
      // [context, [value, ...]]: pass the context to KV.PUT to supersede
      // every sibling read.
      std::string out;
      resp::array(out, 2);
      resp::bulk(out, got->context.to_token());
      resp::array(out, got->siblings.size());
      for (auto& sibling : got->siblings)
        resp::bulk(out, sibling.value);
      reply_later(self, to, std::move(out));
    });
  } else if (name == "kv.put") {
    if (args.size() > 4) {
      now(error_text("ERR KV.PUT takes key value [context]"));
      return;
    }
    vector_clock context;
    if (args.size() == 4) {
      auto parsed = vector_clock::from_token(args[3]);
      if (!parsed) {
        now(error_text("ERR the context is not one KV.GET or KV.PUT "
                       "returned"));
        return;
      }
      context = std::move(*parsed);
    }
    put_key(self, args[1], std::move(args[2]), context, options,
            [=](caf::expected<put_result> written) {
              if (!written) {
                reply_later(self, to, error_reply(written.error()));
                return;
              }
              std::string out;
              resp::bulk(out, written->context.to_token());
              reply_later(self, to, std::move(out));
            });
  } else {
    now(error_text("ERR unknown command '" + name + "'"));
  }
}

// The keys a command works on, by the command table; none for an unknown
// command or a wrong argument count.
std::vector<std::string> keys_of(const std::vector<std::string>& args) {
  std::vector<std::string> keys;
  auto command = redis::find_command(args[0]);
  if (!command || command->first_key == 0
      || !redis::arity_fits(*command, args.size()))
    return keys;
  auto last = command->last_key < 0
                ? static_cast<int>(args.size()) + command->last_key
                : command->last_key;
  for (int i = command->first_key;
       i <= last && i < static_cast<int>(args.size()); i += command->key_step)
    keys.push_back(args[static_cast<std::size_t>(i)]);
  return keys;
}

// Runs the commands received so far while the connection has room.
void pump(gateway_pointer self, int64_t id) {
  auto& st = self->state;
  auto i = st.connections.find(id);
  if (i == st.connections.end())
    return;
  auto& c = i->second;
  std::vector<std::string> args;
  auto full = [&] {
    return c.replies.size() >= st.settings.max_pipeline
           || c.requests_in_flight >= st.settings.max_pipeline
           || c.unsent_bytes + c.ready_bytes >= st.settings.max_unsent_bytes;
  };
  while (!c.closing && !full()) {
    auto got = resp::reader::status::command;
    std::vector<std::string> keys;
    if (!c.waiting.empty()) {
      args.swap(c.waiting);
      keys.swap(c.waiting_keys);
    } else {
      got = c.reader.next(args);
      if (got == resp::reader::status::command)
        keys = keys_of(args);
    }
    if (got == resp::reader::status::incomplete)
      break;
    // A command with too many keys is refused at once, never waits.
    if (got == resp::reader::status::command
        && keys.size() <= max_command_keys) {
      bool busy = false;
      for (auto& key : keys)
        busy = busy || c.keys_in_flight.count(key) > 0;
      if (busy) {
        // Runs when the earlier command on its key completes (pump again).
        c.waiting.swap(args);
        c.waiting_keys.swap(keys);
        break;
      }
    }
    auto sequence = c.first_sequence + c.replies.size();
    c.replies.emplace_back();
    if (got == resp::reader::status::protocol_error) {
      ++st.figures.protocol_errors;
      start_closing(c);
      fill(st, c, c.replies.back(), error_text("ERR " + c.reader.error()));
      break;
    }
    ++st.figures.commands_processed;
    if (*st.bytes_in_flight >= st.settings.max_bytes_in_flight
        || st.requests_in_flight >= st.settings.max_requests_in_flight) {
      fill(st, c, c.replies.back(),
           error_text("TRYAGAIN the gateway holds its limit of requests in "
                      "flight; retry"));
      continue;
    }
    execute(self, c, args, reply_target{id, c.serial, sequence});
    auto& slot = c.replies[sequence - c.first_sequence];
    if (!slot.ready) {
      // About one request per key (DEL and the read-then-write commands
      // two): what the bounds on requests in flight count.
      slot.requests = std::max<std::size_t>(1, 2 * keys.size());
      c.requests_in_flight += slot.requests;
      st.requests_in_flight += slot.requests;
      for (auto& key : keys)
        ++c.keys_in_flight[key];
      slot.keys = std::move(keys);
    }
  }
  // While the connection is full or a command waits, what the client sends
  // stays unparsed in its reader, up to max_unread_bytes (see new_data).
  // Reading is never halted: CAF 0.17 drops a trigger that follows a halt
  // in the same pass of its event loop, and the connection would stall.
  count_unread(st, c);
  flush_ready(self, id, c);
}

caf::behavior resp_gateway_actor(gateway_pointer self,
                                 resp_gateway_settings settings) {
  self->state.settings = std::move(settings);
  // Room above the value limit: a value a little too large gets the
  // store's clear refusal and the connection goes on; only one far beyond
  // it ends the stream.
  self->state.limits.max_bulk_bytes
    = 2 * self->state.settings.max_value_bytes + max_key_bytes;
  return {
    [=](open_atom) -> caf::result<uint16_t> {
      auto& s = self->state.settings;
      auto opened = self->add_tcp_doorman(s.port, s.host.c_str(), true);
      if (!opened)
        return std::move(opened.error());
      self->state.figures.port = opened->second;
      self->delayed_send(self, sweep_interval, sweep_atom::value);
      return opened->second;
    },
    [=](sweep_atom) {
      sweep(self);
      self->delayed_send(self, sweep_interval, sweep_atom::value);
    },
    [=](const caf::io::new_connection_msg& msg) {
      auto& st = self->state;
      ++st.figures.connections_received;
      if (st.connections.size() >= st.settings.max_connections) {
        ++st.figures.connections_rejected;
        std::string out;
        resp::error(out, "ERR max number of clients reached");
        self->write(msg.handle, out.size(), out.data());
        self->flush(msg.handle);
        self->close(msg.handle);
        return;
      }
      auto serial = ++st.accepted;
      connection c;
      c.serial = serial;
      c.client_id = serial;
      c.authenticated = st.settings.password.empty();
      c.reader = resp::reader{c.authenticated ? st.limits
                                              : unauthenticated_limits()};
      c.address = self->remote_addr(msg.handle) + ":"
                  + std::to_string(self->remote_port(msg.handle));
      st.connections.emplace(msg.handle.id(), std::move(c));
      self->ack_writes(msg.handle, true);
      self->configure_read(msg.handle,
                           caf::io::receive_policy::at_most(read_chunk));
    },
    [=](const caf::io::new_data_msg& msg) {
      auto& st = self->state;
      auto id = msg.handle.id();
      auto i = st.connections.find(id);
      if (i == st.connections.end())
        return;
      if (i->second.closing) {
        // After QUIT or a protocol error what arrives is dropped (the rest
        // of a bad command, typically); a client that keeps sending is cut
        // off rather than read for as long as its last replies wait.
        i->second.dropped_bytes += msg.buf.size();
        if (i->second.dropped_bytes > max_dropped_bytes) {
          forget(self, id);
          abort_connection(self, msg.handle);
        }
        return;
      }
      i->second.reader.feed(msg.buf.data(), msg.buf.size());
      pump(self, id);
      // A client that sends faster than its commands run, or than it reads
      // their replies, is cut off at a bound (redis-server's
      // client-query-buffer-limit); over the gateway's bound, the one that
      // holds the most. Cut off at once: waiting for it to read its replies
      // first would let it hold the connection as long as it likes.
      i = st.connections.find(id);
      if (i != st.connections.end()
          && i->second.reader.buffered() > st.settings.max_unread_bytes) {
        forget(self, id);
        abort_connection(self, msg.handle);
      }
      if (st.unread_bytes > st.settings.max_unread_total) {
        auto largest = std::max_element(
          st.connections.begin(), st.connections.end(),
          [](auto& x, auto& y) {
            return x.second.counted_unread < y.second.counted_unread;
          });
        if (largest != st.connections.end()) {
          auto victim = largest->first;
          forget(self, victim);
          abort_connection(self,
                           caf::io::connection_handle::from_int(victim));
        }
      }
    },
    [=](const caf::io::data_transferred_msg& msg) {
      auto i = self->state.connections.find(msg.handle.id());
      if (i == self->state.connections.end())
        return;
      auto& c = i->second;
      c.unsent_bytes -= std::min(c.unsent_bytes, msg.written);
      if (msg.remaining == 0)
        c.unsent_bytes = 0;
      c.last_progress = std::chrono::steady_clock::now();
      if (c.closing) {
        flush_ready(self, msg.handle.id(), c);
        return;
      }
      pump(self, msg.handle.id());
    },
    [=](const caf::io::connection_closed_msg& msg) {
      forget(self, msg.handle.id());
    },
    [=](const caf::io::acceptor_closed_msg&) {
      // nop: the node stops the gateway
    },
  };
}

} // namespace

caf::expected<resp_gateway>
spawn_resp_gateway(caf::actor_system& sys, resp_gateway_settings settings) {
  auto broker = sys.middleman().spawn_broker(resp_gateway_actor,
                                             std::move(settings));
  auto port = open_broker_port(sys, broker);
  if (!port)
    return std::move(port.error());
  return resp_gateway{broker, *port};
}

} // namespace kv
