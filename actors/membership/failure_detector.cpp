#include "actors/membership/failure_detector.hpp"

#include <algorithm>
#include <utility>

namespace kv {

failure_detector::failure_detector(std::string self_id,
                                   failure_detector_settings settings)
  : self_id_(std::move(self_id)), settings_(settings) {
  // nop
}

void failure_detector::add(const std::string& node_id,
                           clock::time_point now) {
  // Self is never judged: it would only ever see its own progress.
  if (node_id == self_id_)
    return;
  // emplace keeps an existing entry: re-learning a node from gossip must not
  // reset its silence and so hide a failure.
  node_state st;
  st.last_progress = now;
  nodes_.emplace(node_id, st);
}

void failure_detector::forgive_local_pause(clock::time_point now) {
  for (auto& [id, st] : nodes_)
    st.last_progress = std::max(st.last_progress, now);
}

void failure_detector::remove(const std::string& node_id) {
  nodes_.erase(node_id);
  reports_.erase(node_id);
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                [&](const status_change& x) {
                                  return x.node_id == node_id;
                                }),
                 pending_.end());
}

void failure_detector::observe_heartbeat(const std::string& node_id,
                                         uint64_t heartbeat,
                                         clock::time_point now) {
  auto i = nodes_.find(node_id);
  if (i == nodes_.end())
    return;
  auto& st = i->second;
  // Only a higher counter is progress: gossip keeps relaying the last value
  // it saw long after the node itself stopped.
  if (st.has_heartbeat && heartbeat <= st.heartbeat)
    return;
  st.has_heartbeat = true;
  st.heartbeat = heartbeat;
  st.last_progress = now;
  // The node itself proves it is alive; no peer's opinion outweighs that.
  if (st.status == member_status::suspect || st.status == member_status::down)
    transition(node_id, st, member_status::up);
}

void failure_detector::observe_stop(const std::string& node_id,
                                    uint64_t heartbeat) {
  auto i = nodes_.find(node_id);
  if (i == nodes_.end() || (i->second.has_heartbeat
                            && heartbeat < i->second.heartbeat))
    return;
  auto& st = i->second;
  st.has_heartbeat = true;
  st.heartbeat = heartbeat;
  if (st.status != member_status::down)
    transition(node_id, st, member_status::down);
}

void failure_detector::observe_report(const std::string& reporter,
                                      const std::vector<std::string>& suspects,
                                      clock::time_point now) {
  // Our own view is not a confirmation of itself.
  if (reporter == self_id_)
    return;
  // Stored even for a reporter not known yet: whether it counts is decided
  // at evaluate time, when its own status is known.
  auto& r = reports_[reporter];
  r.suspects = std::set<std::string>(suspects.begin(), suspects.end());
  r.observed = now;
}

std::vector<status_change> failure_detector::evaluate(clock::time_point now) {
  // Phase 1, timing alone: silence makes a node suspect.
  for (auto& [id, st] : nodes_)
    if (st.status == member_status::up
        && now - st.last_progress >= settings_.suspect_after)
      transition(id, st, member_status::suspect);
  // Phase 2, conviction. It runs on the statuses after phase 1 so that a peer
  // that has itself gone quiet no longer vouches; it only turns suspects
  // into downs, neither of which is eligible, so the order does not matter.
  for (auto& [id, st] : nodes_)
    if (st.status == member_status::suspect
        && now - st.last_progress >= settings_.down_after && confirmed(id, now))
      transition(id, st, member_status::down);
  // Stale reports can never count again (time only moves forward).
  for (auto i = reports_.begin(); i != reports_.end();)
    if (now - i->second.observed > settings_.report_ttl)
      i = reports_.erase(i);
    else
      ++i;
  std::vector<status_change> result;
  result.swap(pending_);
  return result;
}

member_status failure_detector::status_of(const std::string& node_id) const {
  auto i = nodes_.find(node_id);
  return i == nodes_.end() ? member_status::up : i->second.status;
}

std::vector<std::string> failure_detector::suspects() const {
  std::vector<std::string> result;
  for (auto& [id, st] : nodes_)
    if (st.status == member_status::suspect || st.status == member_status::down)
      result.push_back(id);
  return result;
}

bool failure_detector::knows(const std::string& node_id) const {
  return nodes_.count(node_id) != 0;
}

void failure_detector::transition(const std::string& node_id, node_state& st,
                                  member_status to) {
  pending_.push_back(status_change{node_id, st.status, to});
  st.status = to;
}

bool failure_detector::confirmed(const std::string& node_id,
                                 clock::time_point now) const {
  uint32_t eligible = 0;
  uint32_t confirming = 0;
  for (auto& [peer, st] : nodes_) {
    // A suspect or down peer may be on the wrong side of a partition: a
    // minority must not convict nodes the rest of the cluster still hears.
    if (peer == node_id || st.status != member_status::up)
      continue;
    ++eligible;
    auto r = reports_.find(peer);
    if (r != reports_.end()
        && now - r->second.observed <= settings_.report_ttl
        && r->second.suspects.count(node_id) != 0)
      ++confirming;
  }
  // Capped by who can confirm at all: in a two-node cluster nobody else can,
  // so the timeout alone decides.
  return confirming >= std::min(settings_.confirmations, eligible);
}

} // namespace kv
