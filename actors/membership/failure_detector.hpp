#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "messages/membership.hpp"

namespace kv {

struct failure_detector_settings {
  // No heartbeat progress for this long: suspect.
  std::chrono::milliseconds suspect_after{3000};
  // No heartbeat progress for this long AND confirmed by peers: down.
  std::chrono::milliseconds down_after{8000};
  // Other peers that must suspect the node too; capped by how many peers are
  // able to report (up, not self, not the node itself).
  uint32_t confirmations = 2;
  // A peer's suspicion report counts this long after it was observed.
  std::chrono::milliseconds report_ttl{10000};
};

struct status_change {
  std::string node_id;
  member_status from;
  member_status to;
};

// Decides, from gossiped heartbeats and the suspicion reports of peers,
// whether each other node is up, suspect or down. A node becomes suspect
// after `suspect_after` without heartbeat progress, and down only after
// `down_after` without progress AND confirmation by enough peers this
// detector itself considers up, so that one node's (or a partitioned
// minority's) view alone cannot convict a node other nodes still hear from.
// Pure logic: no clock reads, all time comes from the arguments, so the
// gossiper drives it and tests replay it deterministically.
class failure_detector {
public:
  using clock = std::chrono::steady_clock;

  failure_detector(std::string self_id, failure_detector_settings settings);

  // A node (not self) is known, e.g. learned from gossip; starts up with
  // `now` as its last progress. Adding a known node changes nothing.
  void add(const std::string& node_id, clock::time_point now);

  // Forgets the node, its report and its transitions not yet returned.
  void remove(const std::string& node_id);

  // The node's heartbeat as seen in gossip. Progress (a higher value than
  // seen before) marks it up again immediately, whatever its status. Unknown
  // nodes and self are ignored: membership is the caller's business.
  void observe_heartbeat(const std::string& node_id, uint64_t heartbeat,
                         clock::time_point now);

  // The node announced, in its card with this heartbeat, that it is
  // stopping (SIGTERM): it is down at once, without the timeout or peers'
  // confirmation. Only a higher heartbeat (a restart) brings it back up.
  void observe_stop(const std::string& node_id, uint64_t heartbeat);

  // `reporter` (a peer, not self) currently suspects exactly `suspects`
  // (replaces its previous report).
  void observe_report(const std::string& reporter,
                      const std::vector<std::string>& suspects,
                      clock::time_point now);

  // This node itself stalled (e.g. SIGSTOP, a long pause) and heard nothing
  // meanwhile: its silence says nothing about the others. Restarts every
  // node's silence timer at `now` without changing any status, so nobody is
  // convicted on the strength of the local stall alone.
  void forgive_local_pause(clock::time_point now);

  // Re-evaluates every node; returns the transitions since the last call, in
  // the order they happened (up->suspect, suspect->down, suspect/down->up).
  std::vector<status_change> evaluate(clock::time_point now);

  // Up for unknown nodes.
  member_status status_of(const std::string& node_id) const;

  // What this node reports to peers: ids it holds suspect or down (sorted).
  std::vector<std::string> suspects() const;

  const std::string& self_id() const { return self_id_; }
  const failure_detector_settings& settings() const { return settings_; }
  bool knows(const std::string& node_id) const;

private:
  struct node_state {
    member_status status = member_status::up;
    bool has_heartbeat = false; // no value seen yet: any first value is news
    uint64_t heartbeat = 0;
    clock::time_point last_progress;
  };

  struct report {
    std::set<std::string> suspects;
    clock::time_point observed;
  };

  // Sets the status and records the transition for the next evaluate.
  void transition(const std::string& node_id, node_state& st,
                  member_status to);

  // Whether enough eligible peers (known, up, not the node itself; self is
  // never in nodes_) have a fresh report naming `node_id`.
  bool confirmed(const std::string& node_id, clock::time_point now) const;

  std::string self_id_;
  failure_detector_settings settings_;
  std::map<std::string, node_state> nodes_; // ordered: deterministic output
  std::map<std::string, report> reports_;   // by reporter
  std::vector<status_change> pending_;      // since the last evaluate
};

} // namespace kv
