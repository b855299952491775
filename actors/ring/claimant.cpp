#include "actors/ring/claimant.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>

#include "actors/key_hash.hpp"
#include "actors/ring/partition_map.hpp"
#include "actors/ring/ring.hpp"
#include "messages/vector_clock.hpp"

namespace kv {

namespace {

using member_index = std::map<std::string, const member_info*>;

std::string hex_name(uint64_t x) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx",
                static_cast<unsigned long long>(x));
  return text;
}

// Deterministic: every node naming the same ring names it alike.
std::string derived_cluster_name(const ring_state& ring) {
  std::string basis = std::to_string(ring.version) + "/" + ring.claimant;
  for (auto& id : ring.current.ids)
    basis += "/" + id;
  return hex_name(stable_hash(basis));
}

member_index index_members(const std::vector<member_info>& members) {
  member_index result;
  for (auto& m : members)
    result[m.node_id] = &m;
  return result;
}

bool is_up(const member_index& view, const std::string& id,
           const std::string& self_id) {
  if (id == self_id)
    return true;
  auto i = view.find(id);
  return i != view.end() && (i->second->status == member_status::up
                             || i->second->status == member_status::leaving);
}

// Every member of the ring that was not removed is up here, and every node
// that is up (on the ring or not: a node waiting to join, or one that left
// and still runs, coordinates requests too) routes with this version.
bool ready(const ring_state& ring, const member_index& view,
           const std::string& self_id) {
  for (auto& id : ring_member_ids(ring)) {
    if (removed_id(ring, id))
      continue;
    if (view.count(id) == 0 || !is_up(view, id, self_id))
      return false;
  }
  for (auto& [id, m] : view)
    if (is_up(view, id, self_id) && m->ring_epoch != ring.version)
      return false;
  return true;
}

partition_map map_of(const ring_state& ring, const ring_assignment& a) {
  partition_map map{ring.partitions, ring.replicas};
  partition_map::from_assignment(ring.partitions, ring.replicas, a, map);
  return map;
}

ring_state successor(const ring_state& held, const std::string& self_id) {
  auto next = held;
  next.version = held.version + 1;
  next.claimant = self_id;
  return next;
}

// Starts (or restarts) a transition to `target`; commits at once when no
// node has anything to copy.
// Nodes of `before` that `after` no longer holds and whose process has
// stopped or still runs as the leaver (not a new incarnation that is up):
// recorded as removed, so that process is never taken back (like
// Cassandra's decommissioned nodes it comes back wiped, as a new
// incarnation), its stale copies never return to the ring, and tombstone
// reaping need not wait for it once it is down.
void record_leavers(ring_state& after, const std::vector<std::string>& before,
                    const member_index& view) {
  auto stays = map_of(after, after.current);
  for (auto& id : before) {
    auto m = view.find(id);
    if (stays.find(id) != nullptr || m == view.end()
        || m->second->status == member_status::up
        || was_removed(after, *m->second))
      continue;
    after.removed.push_back(removal_name(*m->second));
  }
  if (after.removed.size() > max_ring_removed)
    after.removed.erase(after.removed.begin(),
                        after.removed.begin()
                          + static_cast<std::ptrdiff_t>(after.removed.size()
                                                        - max_ring_removed));
}

ring_state begin_transition(const ring_state& held, const std::string& self_id,
                            const partition_map& target,
                            const member_index& view) {
  auto next = successor(held, self_id);
  // A removal may start while the last change drains: `previous` stays a
  // write target until this change completes (readiness then guarantees
  // every node routes with a version that writes to it).
  next.next = target.to_assignment();
  next.transition = next.version;
  ring check;
  if (!ring::from_state(next, check) && check.receivers().empty()) {
    // Nothing to copy: the change completes at once, with no drain.
    next.current = next.next;
    next.next = {};
    next.transition = 0;
    record_leavers(next, held.current.ids, view);
  }
  return next;
}

std::optional<ring_state> first_ring(const std::string& self_id,
                                     const member_index& view,
                                     const claimant_settings& settings) {
  auto initial = settings.initial_members;
  if (initial.empty()) {
    if (!settings.alone)
      return std::nullopt;
    initial = {self_id};
  }
  std::sort(initial.begin(), initial.end());
  if (initial.front() != self_id)
    return std::nullopt;
  partition_map map{settings.partitions, settings.replicas};
  for (auto& id : initial) {
    if (!is_up(view, id, self_id) || view.count(id) == 0)
      return std::nullopt;
    map.add(id, view.at(id)->dc);
  }
  ring_state result;
  result.version = 1;
  result.claimant = self_id;
  result.partitions = settings.partitions;
  result.replicas = settings.replicas;
  result.current = map.to_assignment();
  result.cluster = settings.cluster.empty() ? derived_cluster_name(result)
                                            : settings.cluster;
  return result;
}

} // namespace

std::string new_cluster_name() {
  std::random_device entropy;
  uint64_t x = (uint64_t{entropy()} << 32) ^ entropy();
  return hex_name(x);
}

bool was_removed(const ring_state& ring, const member_info& m) {
  return std::find(ring.removed.begin(), ring.removed.end(), removal_name(m))
         != ring.removed.end();
}

std::string removal_name(const member_info& m) {
  return m.node_id + "/" + std::to_string(m.incarnation);
}

bool removed_id(const ring_state& ring, const std::string& id) {
  auto prefix = id + "/";
  return std::any_of(ring.removed.begin(), ring.removed.end(),
                     [&](const std::string& r) {
                       return r.compare(0, prefix.size(), prefix) == 0;
                     });
}

std::string claimant_of(const ring_state& ring,
                        const std::vector<member_info>& members,
                        const std::string& self_id) {
  auto view = index_members(members);
  for (auto& id : ring_member_ids(ring))
    if (!removed_id(ring, id) && is_up(view, id, self_id))
      return id;
  return {};
}

std::optional<ring_state> plan_ring_change(const std::string& self_id,
                                           const ring_state& held,
                                           const std::vector<member_info>& members,
                                           const claimant_settings& settings) {
  auto view = index_members(members);
  if (held.version == 0)
    return first_ring(self_id, view, settings);
  if (claimant_of(held, members, self_id) != self_id
      || !ready(held, view, self_id))
    return std::nullopt;
  if (!held.previous.empty()) {
    // Every member routes with the ring that completed the change: no one
    // reads from the old owners any more.
    auto done = successor(held, self_id);
    done.previous = {};
    record_leavers(done, held.previous.ids, view);
    return done;
  }
  if (held.transition != 0) {
    ring current;
    if (ring::from_state(held, current))
      return std::nullopt;
    for (auto& id : current.receivers()) {
      auto i = view.find(id);
      if (i == view.end() || i->second->handoff_done != held.transition)
        return std::nullopt;
    }
    auto done = successor(held, self_id);
    done.previous = held.current;
    done.current = held.next;
    done.next = {};
    done.transition = 0;
    return done;
  }
  if (held.cluster.empty()) {
    auto named = successor(held, self_id);
    named.cluster = derived_cluster_name(held);
    return named;
  }
  auto target = map_of(held, held.current);
  std::vector<std::string> joined;
  for (auto& m : members) {
    if (target.find(m.node_id) != nullptr || was_removed(held, m)
        || !same_cluster(m.cluster, held.cluster)
        || !is_up(view, m.node_id, self_id)
        || m.status == member_status::leaving)
      continue;
    target.add(m.node_id, m.dc);
    joined.push_back(m.node_id);
  }
  bool left = false;
  for (auto& m : members)
    if (m.status == member_status::leaving && target.find(m.node_id)
        && target.size() > 1) {
      target.remove(m.node_id);
      left = true;
    }
  if (joined.empty() && !left)
    return std::nullopt;
  auto base = held;
  // A new incarnation of a removed node may join: the old one's entry goes.
  for (auto& id : joined)
    base.removed.erase(std::remove_if(base.removed.begin(), base.removed.end(),
                                      [&](const std::string& r) {
                                        return r.rfind(id + "/", 0) == 0;
                                      }),
                       base.removed.end());
  return begin_transition(base, self_id, target, view);
}

namespace {

// Why `node_id` cannot be taken off the ring, if it cannot.
std::string removal_refusal(const std::string& self_id, const ring_state& held,
                            const member_index& view,
                            const std::string& node_id) {
  auto ids = ring_member_ids(held);
  if (std::find(ids.begin(), ids.end(), node_id) == ids.end())
    return node_id + " is not on the ring";
  if (node_id == self_id)
    return "a node cannot remove itself: use leave";
  auto i = view.find(node_id);
  if (i != view.end() && i->second->status != member_status::down)
    return node_id + " is " + to_string(i->second->status)
           + " here, not down: only a dead node is removed (a live one "
             "leaves)";
  return {};
}

ring_state with_removed(const ring_state& held, const member_index& view,
                        const std::string& node_id) {
  auto base = held;
  auto i = view.find(node_id);
  base.removed.push_back(i == view.end() ? node_id + "/0"
                                         : removal_name(*i->second));
  if (base.removed.size() > max_ring_removed)
    base.removed.erase(base.removed.begin());
  return base;
}

} // namespace

removal_plan plan_replacement(const std::string& self_id,
                              const ring_state& held,
                              const std::vector<member_info>& members,
                              const std::string& old_id,
                              const std::string& new_id) {
  auto view = index_members(members);
  removal_plan result;
  result.refusal = removal_refusal(self_id, held, view, old_id);
  if (!result.refusal.empty())
    return result;
  auto ids = ring_member_ids(held);
  if (std::find(ids.begin(), ids.end(), new_id) != ids.end()) {
    result.refusal = new_id + " is on the ring already";
    return result;
  }
  if (!valid_node_id(new_id)) {
    result.refusal = "'" + new_id + "' is not a valid node id";
    return result;
  }
  auto target = map_of(held, held.transition != 0 ? held.next : held.current);
  auto* old_member = target.find(old_id);
  if (old_member == nullptr) {
    result.refusal = old_id + " is already leaving the ring";
    return result;
  }
  // NEW's own DC if it runs already, else OLD's (it should start there).
  auto running = view.find(new_id);
  auto dc = running != view.end() ? running->second->dc : old_member->dc;
  target.replace(old_id, new_id, dc);
  result.ring = begin_transition(with_removed(held, view, old_id), self_id,
                                 target, view);
  return result;
}

removal_plan plan_removal(const std::string& self_id, const ring_state& held,
                          const std::vector<member_info>& members,
                          const std::string& node_id) {
  auto view = index_members(members);
  removal_plan result;
  result.refusal = removal_refusal(self_id, held, view, node_id);
  if (!result.refusal.empty())
    return result;
  auto target = map_of(held, held.transition != 0 ? held.next : held.current);
  if (target.find(node_id) != nullptr && target.size() == 1) {
    result.refusal = node_id + " is the last member of the ring";
    return result;
  }
  target.remove(node_id);
  result.ring = begin_transition(with_removed(held, view, node_id), self_id,
                                 target, view);
  return result;
}

} // namespace kv
