#include "actors/autoscale/cluster_load.hpp"

#include <algorithm>
#include <map>

#include "actors/ring/claimant.hpp"

namespace kv {

cluster_sample sample_cluster(const ring_state& ring,
                              const std::vector<member_info>& members,
                              uint64_t now_ms, uint64_t wall_ms,
                              uint64_t stale_ms) {
  cluster_sample sample;
  sample.now_ms = now_ms;
  auto unsettled = [&sample](std::string why) {
    if (!sample.ring_changing)
      sample.unsettled = std::move(why);
    sample.ring_changing = true;
  };
  if (ring.version == 0)
    unsettled("no ring yet");
  else if (ring.transition != 0)
    unsettled("a ring change is in transfer");
  else if (!ring.previous.empty())
    unsettled("the last ring change still drains");
  std::map<std::string, const member_info*> by_id;
  for (auto& m : members)
    by_id[m.node_id] = &m;
  for (auto& id : ring.current.ids) {
    if (removed_id(ring, id))
      continue;
    node_sample n;
    n.node_id = id;
    auto i = by_id.find(id);
    if (i == by_id.end()) {
      n.up = false;
      sample.nodes.push_back(n);
      continue;
    }
    auto& m = *i->second;
    n.up = m.status == member_status::up;
    auto& load = m.load;
    if (load.measured_ms == 0)
      unsettled(id + " has not gossiped its load yet");
    else if (load.measured_ms + stale_ms < wall_ms)
      unsettled(id + "'s load is stale (gossiped "
                + std::to_string((wall_ms - load.measured_ms) / 1000)
                + " s ago)");
    n.ops_per_s = load.ops_per_s;
    n.p99_us = load.p99_us;
    n.cpu_share = load.cpu_permille / 1000.0;
    n.data_bytes = load.disk_bytes;
    sample.nodes.push_back(n);
  }
  // A node up but not on the ring waits to join; one leaving is leaving.
  for (auto& m : members) {
    bool on_ring = std::binary_search(ring.current.ids.begin(),
                                      ring.current.ids.end(), m.node_id);
    if (!on_ring && m.status == member_status::up && !was_removed(ring, m))
      unsettled(m.node_id + " waits to join the ring");
    else if (m.status == member_status::leaving)
      unsettled(m.node_id + " is leaving");
  }
  return sample;
}

bool left_and_drained(const std::vector<member_info>& members,
                      const std::string& node, uint64_t load_ms_at_leave) {
  for (auto& m : members)
    if (m.node_id == node)
      return m.status == member_status::leaving
             && m.load.measured_ms > load_ms_at_leave && m.load.hints == 0;
  return false;
}

std::optional<std::string>
stranded_leaver(std::map<std::string, uint64_t>& since, const ring_state& ring,
                const std::vector<member_info>& members,
                const std::string& self_id, uint64_t now_ms, uint64_t wait_ms) {
  std::map<std::string, uint64_t> seen_now;
  for (auto& m : members)
    if (m.status == member_status::leaving && !on_ring(ring, m.node_id)
        && m.node_id != self_id) {
      auto seen = since.find(m.node_id);
      seen_now[m.node_id] = seen != since.end() ? seen->second : now_ms;
    }
  since = std::move(seen_now);
  if (ring.transition != 0 || !ring.previous.empty())
    return std::nullopt;
  std::optional<std::string> oldest;
  for (auto& [id, first] : since)
    if (now_ms - first >= wait_ms && (!oldest || first < since[*oldest]))
      oldest = id;
  if (oldest)
    since.erase(*oldest);
  return oldest;
}

std::string decider_of(const ring_state& ring,
                       const std::vector<member_info>& members,
                       const std::string& self_id) {
  return claimant_of(ring, members, self_id);
}

} // namespace kv
