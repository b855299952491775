#pragma once

// What kvsh prints. Scripts parse this output, so it is a contract:
//   get   each live sibling's value on its own line, each followed by
//         "  clock {n1:3} written 2024-05-01T12:00:00.123Z"; before them
//         "(N siblings)" when N > 1; last "  context <token>";
//         "(not found)" for a missing or deleted key.
//   put / delete   "ok" then "  clock {...}" (the new version's history).
// Only metadata lines are indented and only kvsh's own notes start with '(',
// so value lines that could be mistaken for them are quoted (format_value).

#include <cstdint>
#include <string>
#include <string_view>

#include <utility>
#include <vector>

#include "messages/anti_entropy.hpp"
#include "messages/membership.hpp"
#include "messages/node_stats.hpp"
#include "messages/ring_state.hpp"
#include "messages/request.hpp"

namespace kv {

// ISO-8601 in UTC with milliseconds: "2024-05-01T12:00:00.123Z".
std::string format_timestamp(uint64_t ms_since_epoch);

// A value as one output line: verbatim, unless it is empty, starts with '"',
// '(' or a blank, ends with a blank or holds a control byte or bytes that
// are not UTF-8; then it is quoted in kvsh's input syntax (\xHH for such
// bytes), so it stays on one line and can be pasted back.
std::string format_value(std::string_view value);

// `word` as one token of shell input: as it is, or quoted and escaped when
// it holds blanks, quotes, control or non-UTF-8 bytes, or starts with #.
std::string shell_word(std::string_view word);

// The output of get, one '\n' after each line.
std::string format_get(const get_result& result);

// The output of a successful put or delete.
std::string format_write(const put_result& result);

// `nodes`, like `nodetool status`: a header, then one line per member (by
// id): id, dc, address, status as the connected node sees it, then the load
// the member last gossiped: ops/s, p99 latency, keys ("~" while still
// counting), disk used, hints held, partitions still to copy in, and the
// ring version it holds. Scripts read the first four columns.
std::string format_members(std::vector<member_info> members, uint64_t now_ms);

// `stats`: one node's figures, several lines.
std::string format_stats(const node_stats& stats);

// kvsh `autoscale`: who decides, its bounds, the load it last sampled, what
// it does now and its latest decisions.
std::string format_autoscale(const autoscale_status& status, uint64_t now_ms);

// One holder's answer for the cluster-wide `hints`.
struct held_hints {
  std::string holder;
  std::vector<std::pair<std::string, uint64_t>> by_owner; // owner, count
  std::string problem; // why the holder did not answer ("" if it did)
  uint64_t gossiped = 0; // its count as last gossiped (when it did not)
};

// `hints`: "holder owner count" lines, then the cluster's total and how
// many holders answered.
std::string format_cluster_hints(const std::vector<held_hints>& holders);

// Sizes and durations for people: "12.3 MiB", "1.2 ms".
std::string format_bytes(uint64_t bytes);
std::string format_micros(uint64_t us);

// `ring`: one line per member: id, dc, tokens and its share of the key
// space as primary owner.
std::string format_ring(const ring_state& ring,
                        const std::vector<member_info>& members);

// `aae`: a summary of the partitions this node holds (compared, building,
// keys repaired, bytes moved, the oldest comparison), then one line per
// partition: every one with `all`, else those that repaired keys or are not
// compared yet (at most `limit` lines, then how many were left out).
// One line on tombstone reaping: state, last cycle, keys reaped and kept.
std::string format_reaping(const reap_status& status, uint64_t now_ms);

std::string format_anti_entropy(const std::vector<aae_partition>& rows,
                                bool all, uint64_t now_ms,
                                std::size_t limit = 20);

// `replica KEY`: every stored version, tombstones shown as "(tombstone)",
// each with its clock; "(not stored here)" when the replica has nothing.
std::string format_replica(const sibling_list& versions);

// `ring KEY`: the preference list, primary first, with each node's dc.
std::string format_preference_list(const std::vector<std::string>& owners,
                                   const std::vector<member_info>& members);

} // namespace kv
