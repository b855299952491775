#include "messages/validation.hpp"

#include <algorithm>

#include "messages/limits.hpp"
#include "messages/request.hpp"
#include "messages/ring_state.hpp"

namespace kv {

namespace {

// Names are quoted only once they are known to be short and printable.
std::string shown(const std::string& id) {
  return valid_replica_id(id) ? "'" + id + "'" : "an invalid id";
}

std::string counter_problem(const std::string& id, uint64_t counter) {
  if (counter == 0)
    return "counter 0 for " + shown(id);
  return "counter " + std::to_string(counter) + " for " + shown(id)
         + " is beyond any real history";
}

} // namespace

std::optional<std::string> dot_problem(const dot& d) {
  if (!valid_replica_id(d.node))
    return std::string{"the dot names an invalid replica id"};
  if (d.counter == 0 || d.counter >= max_clock_counter)
    return "the dot has " + counter_problem(d.node, d.counter);
  return std::nullopt;
}

std::optional<std::string> clock_problem(const vector_clock& clock,
                                         std::size_t max_entries) {
  auto& entries = clock.entries();
  if (entries.size() > max_entries)
    return "the clock has " + std::to_string(entries.size())
           + " entries, more than " + std::to_string(max_entries);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto& e = entries[i];
    if (!valid_replica_id(e.node))
      return std::string{"the clock names an invalid replica id"};
    if (e.counter == 0 || e.counter >= max_clock_counter)
      return "the clock has " + counter_problem(e.node, e.counter);
    // Lookups and comparisons walk entries in order: out of order or twice
    // would make them answer wrongly.
    if (i > 0 && !(entries[i - 1].node < e.node))
      return "the clock's entries are not sorted and unique at " + shown(e.node);
  }
  return std::nullopt;
}

std::optional<std::string> versions_problem(const sibling_list& versions,
                                            std::size_t max_value_bytes,
                                            std::size_t max_siblings,
                                            std::size_t max_clock_entries) {
  if (versions.size() > max_siblings)
    return std::to_string(versions.size()) + " versions, more than "
           + std::to_string(max_siblings);
  for (std::size_t i = 0; i < versions.size(); ++i) {
    auto& v = versions[i];
    auto which = "version " + std::to_string(i + 1) + ": ";
    if (auto problem = dot_problem(v.origin))
      return which + *problem;
    if (auto problem = clock_problem(v.context, max_clock_entries))
      return which + "context: " + *problem;
    if (v.tombstone && !v.value.empty())
      return which + "a tombstone carries a value";
    if (v.value.size() > max_value_bytes)
      return which + "value of " + std::to_string(v.value.size())
             + " bytes, more than " + std::to_string(max_value_bytes);
  }
  // Two versions with one dot would be taken as one write: one would vanish.
  std::vector<const dot*> origins;
  origins.reserve(versions.size());
  for (auto& v : versions)
    origins.push_back(&v.origin);
  std::sort(origins.begin(), origins.end(), [](const dot* x, const dot* y) {
    return x->node != y->node ? x->node < y->node : x->counter < y->counter;
  });
  auto twin = std::adjacent_find(origins.begin(), origins.end(),
                                 [](const dot* x, const dot* y) {
                                   return *x == *y;
                                 });
  if (twin != origins.end())
    return "two versions share the origin " + (*twin)->node + ":"
           + std::to_string((*twin)->counter);
  return std::nullopt;
}

std::optional<std::string> member_problem(const member_info& member) {
  if (!valid_node_id(member.node_id))
    return std::string{"member with an invalid node id"};
  auto who = "member '" + member.node_id + "': ";
  if (member.dc.empty() || member.dc.size() > max_dc_bytes)
    return who + "data centre name must have 1 to "
           + std::to_string(max_dc_bytes) + " bytes";
  if (member.host.size() > max_host_bytes)
    return who + "host name longer than " + std::to_string(max_host_bytes)
           + " bytes";
  if (member.port == 0)
    return who + "port 0";
  if (!member.cluster.empty() && !valid_cluster_id(member.cluster))
    return who + "invalid cluster name";
  if (static_cast<uint8_t>(member.status)
      > static_cast<uint8_t>(member_status::leaving))
    return who + "unknown status "
           + std::to_string(static_cast<unsigned>(member.status));
  if (member.tokens.size() > max_member_tokens)
    return who + std::to_string(member.tokens.size()) + " tokens, more than "
           + std::to_string(max_member_tokens);
  if (member.heartbeat >= max_heartbeat)
    return who + "heartbeat " + std::to_string(member.heartbeat)
           + " is beyond any real uptime";
  return std::nullopt;
}

std::optional<std::string> hint_problem(const hint& h,
                                        std::size_t max_value_bytes,
                                        std::size_t max_siblings,
                                        std::size_t max_clock_entries) {
  if (!valid_node_id(h.intended_owner))
    return std::string{"hint for an invalid owner id"};
  if (auto problem = key_problem(h.key))
    return "hint: " + *problem;
  if (auto problem = versions_problem(h.versions, max_value_bytes,
                                      max_siblings, max_clock_entries))
    return "hint: " + *problem;
  return std::nullopt;
}

std::optional<std::string> chunk_problem(const partition_chunk& chunk,
                                         std::size_t max_value_bytes) {
  if (chunk.keys.size() != chunk.versions.size())
    return std::string{"chunk: keys and version lists do not pair up"};
  if (chunk.keys.size() > max_chunk_keys)
    return "chunk of " + std::to_string(chunk.keys.size())
           + " keys: above the bound";
  for (std::size_t i = 0; i < chunk.keys.size(); ++i) {
    if (auto problem = key_problem(chunk.keys[i]))
      return "chunk: " + *problem;
    if (auto problem = versions_problem(chunk.versions[i], max_value_bytes,
                                        max_wire_siblings,
                                        max_wire_clock_entries))
      return "chunk: " + *problem;
  }
  return std::nullopt;
}

} // namespace kv
