#pragma once

// Members and claimant settings for tests of the ring's pure logic.

#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "actors/ring/claimant.hpp"
#include "messages/membership.hpp"

namespace kv::testing {

inline member_info member(const std::string& id, uint64_t ring_epoch = 0,
                          member_status status = member_status::up) {
  member_info m;
  m.node_id = id;
  m.dc = "dc1";
  m.host = "127.0.0.1";
  m.port = 1;
  m.status = status;
  m.ring_epoch = ring_epoch;
  m.incarnation = 7;
  return m;
}

// 64 partitions of 3 replicas; `initial` make the first ring together.
inline claimant_settings settings_for(std::vector<std::string> initial) {
  claimant_settings s;
  s.partitions = 64;
  s.replicas = 3;
  s.initial_members = std::move(initial);
  return s;
}

// Every member acknowledges `ring` (holds its version).
inline void acknowledge(std::vector<member_info>& members,
                        const ring_state& ring) {
  for (auto& m : members)
    m.ring_epoch = ring.version;
}

// The first ring of `members` (all of them create it), acknowledged by
// every one.
inline ring_state first_ring_of(std::vector<member_info>& members) {
  std::vector<std::string> ids;
  for (auto& m : members)
    ids.push_back(m.node_id);
  auto first = plan_ring_change(ids.front(), {}, members, settings_for(ids));
  BOOST_REQUIRE(first);
  acknowledge(members, *first);
  return *first;
}

} // namespace kv::testing
