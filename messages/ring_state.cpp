#include "messages/ring_state.hpp"

#include <algorithm>
#include <tuple>

#include "messages/vector_clock.hpp"

namespace kv {

namespace {

constexpr uint32_t max_partitions = uint32_t{1} << 16;
constexpr uint32_t max_replicas = 16;

// A total order on ring contents, for the last tie-break only.
auto content_key(const ring_state& r) {
  return std::tie(r.cluster, r.current.ids, r.current.dcs, r.current.slots, r.next.ids,
                  r.next.dcs, r.next.slots, r.previous.ids, r.previous.dcs,
                  r.previous.slots, r.transition, r.removed,
                  r.partitions, r.replicas);
}

} // namespace

bool valid_cluster_id(const std::string& id) {
  return !id.empty() && id.size() <= 64
         && std::all_of(id.begin(), id.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                     || (c >= '0' && c <= '9') || c == '-' || c == '_';
            });
}

bool same_cluster(const std::string& a, const std::string& b) {
  return a.empty() || b.empty() || a == b;
}

std::vector<std::string> ring_member_ids(const ring_state& ring) {
  auto ids = ring.current.ids;
  ids.insert(ids.end(), ring.next.ids.begin(), ring.next.ids.end());
  ids.insert(ids.end(), ring.previous.ids.begin(), ring.previous.ids.end());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

bool on_ring(const ring_state& ring, const std::string& id) {
  for (auto* a : {&ring.current, &ring.next, &ring.previous})
    if (std::find(a->ids.begin(), a->ids.end(), id) != a->ids.end())
      return true;
  return false;
}

bool supersedes(const ring_state& candidate, const ring_state& held) {
  if (candidate.version != held.version)
    return candidate.version > held.version;
  // A named ring never loses to an unnamed one: nodes holding the named
  // one refuse the unnamed one, so every node must keep the named one.
  if (candidate.cluster.empty() != held.cluster.empty())
    return !candidate.cluster.empty();
  if (candidate.claimant != held.claimant)
    return candidate.claimant < held.claimant;
  return content_key(candidate) < content_key(held);
}

std::optional<std::string> assignment_problem(uint32_t partitions,
                                              uint32_t replicas,
                                              const ring_assignment& a) {
  if (partitions == 0 || partitions > max_partitions
      || (partitions & (partitions - 1)) != 0)
    return "ring of " + std::to_string(partitions)
           + " partitions: must be a power of two up to "
           + std::to_string(max_partitions);
  if (replicas == 0 || replicas > max_replicas)
    return "ring with " + std::to_string(replicas)
           + " replicas per partition: must be 1.."
           + std::to_string(max_replicas);
  if (a.ids.size() > max_ring_members || a.dcs.size() != a.ids.size())
    return std::string{"ring members and data centres do not pair up "
                       "within the bound"};
  for (std::size_t i = 0; i < a.ids.size(); ++i) {
    if (!valid_node_id(a.ids[i]) || !valid_node_id(a.dcs[i]))
      return "ring member '" + a.ids[i] + "' has an invalid id or DC";
    if (i > 0 && !(a.ids[i - 1] < a.ids[i]))
      return std::string{"ring members are not sorted or listed twice"};
  }
  auto width = std::min<std::size_t>(replicas, a.ids.size());
  if (a.slots.size() != std::size_t{partitions} * width)
    return "ring has " + std::to_string(a.slots.size()) + " slots, "
           + std::to_string(std::size_t{partitions} * width) + " expected";
  for (std::size_t p = 0; p < partitions; ++p) {
    auto list = a.slots.begin() + static_cast<std::ptrdiff_t>(p * width);
    for (std::size_t i = 0; i < width; ++i) {
      if (list[i] >= a.ids.size())
        return std::string{"a ring slot names no member"};
      if (std::find(list, list + static_cast<std::ptrdiff_t>(i), list[i])
          != list + static_cast<std::ptrdiff_t>(i))
        return "partition " + std::to_string(p) + " lists a node twice";
    }
  }
  return std::nullopt;
}

std::optional<std::string> ring_problem(const ring_state& ring) {
  if (ring.version == 0)
    return ring == ring_state{} ? std::nullopt
                                : std::optional<std::string>{
                                  "a ring without a version has content"};
  if (ring.version > max_ring_version)
    return std::string{"ring version out of range"};
  if (!valid_node_id(ring.claimant))
    return std::string{"ring made by an invalid node id"};
  if (!ring.cluster.empty() && !valid_cluster_id(ring.cluster))
    return std::string{"ring of an invalid cluster name"};
  if (auto problem = assignment_problem(ring.partitions, ring.replicas,
                                        ring.current))
    return problem;
  if ((ring.transition != 0) != !ring.next.empty()
      || ring.transition > ring.version)
    return std::string{"ring transition and next assignment disagree"};
  if (!ring.next.empty())
    if (auto problem = assignment_problem(ring.partitions, ring.replicas,
                                          ring.next))
      return "next " + *problem;
  if (!ring.previous.empty())
    if (auto problem = assignment_problem(ring.partitions, ring.replicas,
                                          ring.previous))
      return "previous " + *problem;
  if (ring.removed.size() > max_ring_removed)
    return std::string{"ring lists too many removed nodes"};
  for (auto& r : ring.removed)
    if (!valid_replica_id(r) || r.find('/') == std::string::npos)
      return "ring lists an invalid removed node '" + r + "'";
  return std::nullopt;
}

} // namespace kv
