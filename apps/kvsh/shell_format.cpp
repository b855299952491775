#include "apps/kvsh/shell_format.hpp"

#include <algorithm>
#include <map>

#include "actors/autoscale/target_settings.hpp"
#include "actors/ring/ring.hpp"

#include <cstdio>
#include <ctime>

namespace kv {

namespace {

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// The length of the well-formed UTF-8 sequence starting at text[i] (a byte
// >= 0x80), or 0: such bytes print escaped, so any value reads back.
std::size_t utf8_length(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) {
    return static_cast<unsigned char>(text[k]);
  };
  auto lead = byte(i);
  std::size_t length = 0;
  if (lead >= 0xc2 && lead <= 0xdf)
    length = 2;
  else if (lead >= 0xe0 && lead <= 0xef)
    length = 3;
  else if (lead >= 0xf0 && lead <= 0xf4)
    length = 4;
  if (length == 0 || i + length > text.size())
    return 0;
  for (std::size_t k = 1; k < length; ++k)
    if ((byte(i + k) & 0xc0) != 0x80)
      return 0;
  auto second = byte(i + 1);
  // Overlong forms, UTF-16 surrogates, code points above U+10FFFF.
  if ((lead == 0xe0 && second < 0xa0) || (lead == 0xed && second > 0x9f)
      || (lead == 0xf0 && second < 0x90) || (lead == 0xf4 && second > 0x8f))
    return 0;
  return length;
}

bool needs_quoting(std::string_view value) {
  if (value.empty() || value.front() == '"' || value.front() == '('
      || is_blank(value.front()) || is_blank(value.back()))
    return true;
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    if (is_control(c))
      return true;
    if (c >= 0x80) {
      auto length = utf8_length(value, i);
      if (length == 0)
        return true;
      i += length - 1;
    }
  }
  return false;
}

std::string quote(std::string_view value) {
  std::string out = "\"";
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80) {
      if (auto length = utf8_length(value, i)) {
        out.append(value.substr(i, length));
        i += length - 1;
      } else {
        char buf[5];
        std::snprintf(buf, sizeof(buf), "\\x%02x", c);
        out += buf;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (is_control(c)) {
          char buf[5];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

} // namespace

std::string format_timestamp(uint64_t ms_since_epoch) {
  auto seconds = static_cast<std::time_t>(ms_since_epoch / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                utc.tm_min, utc.tm_sec,
                static_cast<unsigned>(ms_since_epoch % 1000));
  return buf;
}

std::string format_value(std::string_view value) {
  return needs_quoting(value) ? quote(value) : std::string{value};
}

std::string shell_word(std::string_view word) {
  bool plain = !needs_quoting(word) && word.front() != '#'
               && word.find_first_of(" \t\"") == std::string_view::npos;
  return plain ? std::string{word} : quote(word);
}

namespace {

// A version's clock. Siblings show what the writer had seen plus its own
// dot ("{n1:1}+n1:3"): as plain histories ({n1:2} and {n1:3}) two
// concurrent writes through one node would look ordered.
std::string clock_of(const versioned_value& v, bool among_siblings) {
  if (!among_siblings)
    return v.history().to_string();
  return v.context.to_string() + "+" + v.origin.node + ":"
         + std::to_string(v.origin.counter);
}

std::string siblings_header(std::size_t count) {
  return "(" + std::to_string(count)
         + " siblings: concurrent writes, in no order; each clock is what "
           "its writer had seen + its own write)\n";
}

} // namespace

std::string format_get(const get_result& result) {
  // The node returns live values only; filtering again keeps a tombstone
  // from ever printing as an empty value.
  auto live = live_values(result.siblings);
  if (live.empty())
    return "(not found)\n";
  std::string out;
  bool siblings = live.size() > 1;
  if (siblings)
    out += siblings_header(live.size());
  for (auto& v : live) {
    out += format_value(v.value);
    out += "\n  clock ";
    out += clock_of(v, siblings);
    out += " written ";
    out += format_timestamp(v.timestamp_ms);
    out += '\n';
  }
  out += "  context ";
  out += result.context.to_token();
  out += '\n';
  return out;
}

std::string format_write(const put_result& result) {
  auto out = "ok\n  clock " + result.context.to_string() + "\n";
  // Concurrent writes are still there beside this one: show them, because
  // the context this shell keeps (ctx=@) now covers them too.
  if (result.siblings.size() > 1) {
    out += "  (" + std::to_string(result.siblings.size())
           + " siblings now: a concurrent write exists)\n";
    for (auto& v : result.siblings)
      out += "  " + format_value(v.value) + " clock " + clock_of(v, true)
             + "\n";
  }
  return out;
}

namespace {

std::string dc_of(const std::vector<member_info>& members,
                  const std::string& id) {
  for (auto& m : members)
    if (m.node_id == id)
      return m.dc;
  return "?";
}

std::string padded(std::string text, std::size_t width) {
  if (text.size() < width)
    text.append(width - text.size(), ' ');
  return text;
}

} // namespace

std::string format_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0)
    std::snprintf(buf, sizeof(buf), "%llu B",
                  static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof(buf), "%.1f %s", value, units[unit]);
  return buf;
}

std::string format_micros(uint64_t us) {
  char buf[32];
  if (us < 1000)
    std::snprintf(buf, sizeof(buf), "%llu us",
                  static_cast<unsigned long long>(us));
  else if (us < 1000 * 1000)
    std::snprintf(buf, sizeof(buf), "%.1f ms", static_cast<double>(us) / 1e3);
  else
    std::snprintf(buf, sizeof(buf), "%.2f s", static_cast<double>(us) / 1e6);
  return buf;
}

std::string format_members(std::vector<member_info> members, uint64_t now_ms) {
  std::sort(members.begin(), members.end(),
            [](const member_info& x, const member_info& y) {
              return x.node_id < y.node_id;
            });
  std::string out = "node     dc     address                status   ops/s  "
                    "p99       cpu   keys       disk        hints    transfers ring\n";
  uint64_t oldest_ms = 0;
  for (auto& m : members) {
    auto& load = m.load;
    bool measured = load.measured_ms != 0;
    auto keys = !measured ? std::string{"?"}
                          : (load.keys_complete ? "" : "~")
                              + std::to_string(load.keys);
    out += padded(m.node_id, 8) + " " + padded(m.dc, 6) + " "
           + padded(m.host + ":" + std::to_string(m.port), 22) + " "
           + padded(to_string(m.status), 8) + " "
           + padded(measured ? std::to_string(load.ops_per_s) : "?", 6) + " "
           + padded(measured && load.p99_us > 0 ? format_micros(load.p99_us)
                                                : "-",
                    9)
           + " "
           + padded(measured ? std::to_string((load.cpu_permille + 5) / 10) + "%"
                             : "?",
                    5)
           + " " + padded(keys, 10) + " "
           + padded(measured ? format_bytes(load.disk_bytes) : "?", 11) + " "
           + padded(measured ? std::to_string(load.hints) : "?", 8) + " "
           + padded(measured ? std::to_string(load.transfers) : "?", 9) + " v"
           + std::to_string(m.ring_epoch) + "\n";
    if (measured && now_ms > load.measured_ms)
      oldest_ms = std::max(oldest_ms, now_ms - load.measured_ms);
  }
  out += "(load as each node last gossiped it, at most "
         + std::to_string(oldest_ms / 1000) + " s ago; keys: ~ while its "
         "anti-entropy trees still count them)\n";
  return out;
}

std::string format_autoscale(const autoscale_status& s, uint64_t now_ms) {
  std::string out = "autoscaler of " + s.node_id
                    + (s.decider == s.node_id ? " (the deciding node)"
                       : s.decider.empty()    ? " (no deciding node known)"
                                              : " (decided by " + s.decider + ")")
                    + ": " + (s.paused ? "paused" : "running") + "\n";
  out += "provisioner: "
         + (s.provisioner.empty()
              ? std::string{"none: decisions are advice only "
                            "(kvnode --autoscale-command)"}
              : s.provisioner)
         + "\n";
  out += "now: " + s.state + "\n";
  out += "bounds: " + describe_targets(s.targets) + " (floor: N="
         + std::to_string(s.targets.replication) + ")\n";
  out += "node     state  ops/s  p99       cpu   data\n";
  for (auto& n : s.load)
    out += padded(n.node_id, 8) + " " + padded(n.up ? "up" : "not up", 6) + " "
           + padded(std::to_string(static_cast<uint64_t>(n.ops_per_s + 0.5)), 6)
           + " " + padded(n.p99_us > 0 ? format_micros(n.p99_us) : "-", 9)
           + " "
           + padded(std::to_string(static_cast<int>(n.cpu_share * 100 + 0.5))
                      + "%",
                    5)
           + " " + format_bytes(n.data_bytes) + "\n";
  if (s.decisions.empty()) {
    out += "no decisions yet\n";
    return out;
  }
  out += "decisions (latest last):\n";
  for (auto& e : s.decisions) {
    auto age = now_ms > e.wall_ms ? (now_ms - e.wall_ms) / 1000 : 0;
    out += "  " + format_timestamp(e.wall_ms) + " (" + std::to_string(age)
           + " s ago) " + e.action + (e.node.empty() ? "" : " " + e.node)
           + ": " + e.outcome + "\n    because " + e.reason + "\n";
  }
  return out;
}

namespace {

std::string operation_line(const char* name, const operation_figures& f) {
  char rate[32];
  std::snprintf(rate, sizeof(rate), "%.1f", f.per_s);
  auto latency = [&](uint64_t us) {
    return f.window_requests == 0 ? std::string{"-"} : format_micros(us);
  };
  return padded(name, 8) + " " + padded(std::to_string(f.requests), 10) + " "
         + padded(std::to_string(f.errors), 7) + " "
         + padded(std::to_string(f.quorum_failures), 7) + " "
         + padded(std::to_string(f.unavailable), 8) + " " + padded(rate, 8)
         + " " + padded(latency(f.p50_us), 9) + " "
         + padded(latency(f.p99_us), 9) + " " + padded(latency(f.p999_us), 9)
         + " " + latency(f.max_us) + "\n";
}

} // namespace

std::string format_stats(const node_stats& s) {
  std::string out = "node " + s.node_id + " (" + s.dc + "), up "
                    + std::to_string(s.uptime_s) + " s; figures of "
                    + format_timestamp(s.measured_ms) + "\n";
  out += "request  total      errors  quorum  unavail  per s    p50       "
         "p99       p99.9     max (last minute)\n";
  out += operation_line("get", s.get);
  out += operation_line("put", s.put);
  out += operation_line("delete", s.del);
  out += "read repairs " + std::to_string(s.read_repairs)
         + ", gets that found siblings " + std::to_string(s.sibling_reads)
         + "\n";
  out += "hints: " + std::to_string(s.hints.held) + " held ("
         + format_bytes(s.hints.held_bytes) + "), "
         + std::to_string(s.hints.stored) + " stored, "
         + std::to_string(s.hints.delivered) + " delivered, "
         + std::to_string(s.hints.expired) + " expired, "
         + std::to_string(s.hints.rejected) + " set aside as invalid\n";
  auto& st = s.store;
  out += "storage: " + std::string{st.keys_complete ? "" : "~"}
         + std::to_string(st.keys) + " keys, " + std::to_string(st.tombstones)
         + " deleted (tombstones), " + format_bytes(s.disk_bytes)
         + " on disk; cache " + format_bytes(st.engine.cache_bytes) + " of "
         + format_bytes(st.engine.cache_max_bytes) + " ("
         + format_bytes(st.engine.cache_dirty_bytes) + " dirty); "
         + std::to_string(st.engine.pages_read) + " pages read, "
         + std::to_string(st.engine.pages_written) + " written; "
         + std::to_string(st.engine.checkpoints) + " checkpoints; "
         + std::to_string(st.corrupt_records) + " corrupt records\n";
  if (s.handoff_partitions > s.handoff_copied)
    out += "transfers: ring transition " + std::to_string(s.handoff_transition)
           + ", " + std::to_string(s.handoff_copied) + " of "
           + std::to_string(s.handoff_partitions) + " partitions copied ("
           + format_bytes(s.handoff_bytes) + ")\n";
  else
    out += "transfers: none in progress\n";
  out += "anti-entropy: " + std::to_string(s.aae_partitions)
         + " partitions held, " + std::to_string(s.aae_compared)
         + " compared, " + std::to_string(s.aae_keys_repaired)
         + " keys repaired, " + format_bytes(s.aae_bytes) + " moved\n";
  out += format_reaping(s.reaping, s.measured_ms);
  return out;
}

std::string format_cluster_hints(const std::vector<held_hints>& holders) {
  std::string out;
  uint64_t total = 0;
  std::size_t answered = 0;
  for (auto& h : holders) {
    if (!h.problem.empty()) {
      out += padded(h.holder, 8) + " ?        " + std::to_string(h.gossiped)
             + " as last gossiped (" + h.problem + ")\n";
      total += h.gossiped;
      continue;
    }
    ++answered;
    for (auto& [owner, count] : h.by_owner) {
      out += padded(h.holder, 8) + " " + padded(owner, 8) + " "
             + std::to_string(count) + "\n";
      total += count;
    }
  }
  if (!out.empty())
    out = "holder   owner    hints\n" + out;
  out += (total == 0 ? std::string{"no hints pending"}
                     : std::to_string(total) + " hint(s) pending")
         + " in the cluster (" + std::to_string(answered) + " of "
         + std::to_string(holders.size()) + " nodes answered)\n";
  return out;
}

namespace {

// One line per node of an assignment: primaries, replicas held, share.
std::string ownership(const partition_map& map) {
  auto primaries = map.primary_counts();
  auto slots = map.slot_counts();
  double total = 0;
  for (auto c : slots)
    total += c;
  std::string out = "node     dc     primaries replicas  share\n";
  for (std::size_t i = 0; i < map.members().size(); ++i) {
    char share[16];
    std::snprintf(share, sizeof(share), "%5.1f%%",
                  total == 0 ? 0.0 : 100.0 * slots[i] / total);
    out += padded(map.members()[i].node_id, 8) + " "
           + padded(map.members()[i].dc, 6) + " "
           + padded(std::to_string(primaries[i]), 9) + " "
           + padded(std::to_string(slots[i]), 8) + " " + share + "\n";
  }
  return out;
}

} // namespace

std::string format_ring(const ring_state& state,
                        const std::vector<member_info>& members) {
  if (state.version == 0)
    return "no ring yet (this node has not heard one from its cluster)\n";
  ring routing;
  if (auto problem = ring::from_state(state, routing))
    return "the node sent an unusable ring: " + *problem + "\n";
  std::string out = "ring version " + std::to_string(state.version)
                    + (state.cluster.empty()
                         ? std::string{}
                         : " of cluster " + state.cluster)
                    + ", " + std::to_string(state.partitions)
                    + " partitions x "
                    + std::to_string(state.replicas)
                    + " replicas, last changed by " + state.claimant + "\n";
  out += ownership(routing.current());
  if (routing.in_transition()) {
    out += "change in transfer (since version "
           + std::to_string(state.transition) + "):\n";
    for (auto& id : routing.receivers()) {
      auto done = std::any_of(members.begin(), members.end(),
                              [&](const member_info& m) {
                                return m.node_id == id
                                       && m.handoff_done == state.transition;
                              });
      out += "  " + padded(id, 8) + " takes over "
             + std::to_string(routing.incoming(id).size()) + " partition(s)"
             + (done ? ": copied" : ": copying") + "\n";
    }
    out += "after it:\n" + ownership(routing.next());
  }
  std::string waiting;
  for (auto& m : members) {
    bool on_ring = routing.current().find(m.node_id) != nullptr
                   || routing.next().find(m.node_id) != nullptr;
    if (!on_ring && m.status == member_status::up)
      waiting += " " + m.node_id;
    if (on_ring && m.status == member_status::leaving)
      out += m.node_id + " is leaving\n";
  }
  if (!waiting.empty())
    out += "waiting to join:" + waiting + "\n";
  if (!state.removed.empty()) {
    out += "removed:";
    for (auto& r : state.removed)
      out += " " + r;
    out += "\n";
  }
  return out;
}

std::string format_preference_list(const std::vector<std::string>& owners,
                                   const std::vector<member_info>& members) {
  std::string out;
  for (std::size_t i = 0; i < owners.size(); ++i)
    out += padded(owners[i], 8) + " " + padded(dc_of(members, owners[i]), 6)
           + (i == 0 ? " primary" : " replica") + "\n";
  return out;
}

std::string format_reaping(const reap_status& status, uint64_t now_ms) {
  std::string out = "tombstone reaping: " + status.state;
  if (status.last_cycle_ms != 0)
    out += "; last cycle "
           + std::to_string((now_ms > status.last_cycle_ms
                               ? now_ms - status.last_cycle_ms
                               : 0)
                            / 1000)
           + " s ago";
  out += "; " + std::to_string(status.candidates) + " old tombstones seen, "
         + std::to_string(status.pending) + " agreed once, "
         + std::to_string(status.reaped) + " keys reaped, "
         + std::to_string(status.kept) + " kept (changed or not agreed)\n";
  return out;
}

std::string format_anti_entropy(const std::vector<aae_partition>& rows,
                                bool all, uint64_t now_ms, std::size_t limit) {
  std::size_t compared = 0, building = 0;
  uint64_t repaired = 0, bytes = 0, oldest_ms = 0;
  bool never = false;
  for (auto& row : rows) {
    repaired += row.keys_repaired;
    bytes += row.bytes;
    building += row.tree == "building" ? 1 : 0;
    if (row.last_exchange_ms == 0) {
      never = true;
      continue;
    }
    ++compared;
    auto age = now_ms > row.last_exchange_ms ? now_ms - row.last_exchange_ms : 0;
    oldest_ms = std::max(oldest_ms, age);
  }
  std::string out = std::to_string(rows.size()) + " partitions held, "
                    + std::to_string(compared) + " compared, "
                    + std::to_string(building) + " with a tree being built; "
                    + std::to_string(repaired) + " keys repaired, "
                    + std::to_string(bytes) + " bytes moved\n";
  if (compared > 0)
    out += never ? std::string{"some partitions not compared yet\n"}
                 : "every partition compared within the last "
                     + std::to_string(oldest_ms / 1000 + 1) + " s\n";
  std::string table;
  std::size_t shown = 0, hidden = 0;
  for (auto& row : rows) {
    if (!all && row.keys_repaired == 0 && row.last_exchange_ms != 0)
      continue;
    if (!all && shown >= limit) {
      ++hidden;
      continue;
    }
    ++shown;
    auto last = row.last_exchange_ms == 0
                  ? std::string{"never"}
                  : std::to_string((now_ms > row.last_exchange_ms
                                      ? now_ms - row.last_exchange_ms
                                      : 0)
                                   / 1000)
                      + " s ago";
    table += padded(std::to_string(row.partition), 9) + " "
             + padded(row.peer.empty() ? "-" : row.peer, 8) + " "
             + padded(last, 12) + " " + padded(std::to_string(row.exchanges), 9)
             + " " + padded(std::to_string(row.keys_repaired), 8) + " "
             + row.tree + "\n";
  }
  if (shown > 0)
    out += "partition peer     last         exchanges repaired tree\n" + table;
  if (hidden > 0)
    out += "(" + std::to_string(hidden) + " more; `aae all` lists every one)\n";
  return out;
}

std::string format_replica(const sibling_list& versions) {
  if (versions.empty())
    return "(not stored here)\n";
  std::string out;
  bool siblings = versions.size() > 1;
  if (siblings)
    out += siblings_header(versions.size());
  for (auto& v : versions) {
    out += v.tombstone ? std::string{"(tombstone)"} : format_value(v.value);
    out += "\n  clock " + clock_of(v, siblings) + " written "
           + format_timestamp(v.timestamp_ms) + "\n";
  }
  return out;
}

} // namespace kv
