// Edges of the claimant's plans found by the independent review of issue 9
// (each failed on 7ba9f75): a ring version that would wrap, a drain that
// ended while a node still routed with the old ring, a removal that dropped
// the old owners mid-drain.
#define BOOST_TEST_MODULE claimant_edges
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "actors/ring/claimant.hpp"
#include "actors/ring/ring.hpp"
#include "tests/support/ring_members.hpp"

using namespace kv;
using namespace kv::testing;

// Regression (a hang from one message): ring_problem accepts any version, and
// supersedes() takes the highest. A ring at version 2^64-1 (one gossip
// message, or a RING file) is adopted and saved by every node; the
// claimant's next version wraps to 0, which is "no ring" and dropped by
// adopt_ring: the cluster can never change its ring again.
BOOST_AUTO_TEST_CASE(a_ring_at_the_top_version_can_still_change) {
  std::vector<member_info> members{member("a"), member("b"), member("c")};
  auto v1 = plan_ring_change("a", {}, members, settings_for({"a", "b", "c"}));
  BOOST_REQUIRE(v1);
  auto top = *v1;
  top.version = std::numeric_limits<uint64_t>::max();
  // Either a version this high is refused from the wire...
  bool refused = ring_problem(top).has_value();
  if (refused)
    return;
  // ...or the claimant can still make a change from it (here: d joins).
  acknowledge(members, top);
  members.push_back(member("d", top.version));
  auto next = plan_ring_change("a", top, members, settings_for({}));
  BOOST_REQUIRE(next);
  BOOST_TEST(next->version != 0u);              // wraps to 0
  BOOST_TEST(!ring_problem(*next).has_value()); // "a ring without a version"
  BOOST_TEST(supersedes(*next, top));
}

// Regression (a stale-read window): after a leave completes (previous = old
// assignment), readiness checks only the members of current/next. The node
// that left is still running, still coordinating, and may still route with
// the transition's ring (reads from the OLD owners); the claimant clears
// `previous` anyway, so new writes stop reaching the old owners that node
// reads from. The same holds for any up node that is not on the ring (a
// joiner waiting for the current change), and handoff::everyone_routes
// ignores such nodes too.
BOOST_AUTO_TEST_CASE(the_drain_waits_for_every_node_still_coordinating) {
  std::vector<member_info> members{member("a"), member("b"), member("c"),
                                   member("d")};
  auto v1 = plan_ring_change("a", {}, members,
                             settings_for({"a", "b", "c", "d"}));
  BOOST_REQUIRE(v1);
  acknowledge(members, *v1);
  members[3].status = member_status::leaving; // d leaves
  auto v2 = plan_ring_change("a", *v1, members, settings_for({}));
  BOOST_REQUIRE(v2);
  BOOST_REQUIRE(v2->transition != 0u);
  acknowledge(members, *v2);
  ring r;
  BOOST_REQUIRE(!ring::from_state(*v2, r));
  for (auto& id : r.receivers())
    for (auto& m : members)
      if (m.node_id == id)
        m.handoff_done = v2->transition;
  auto v3 = plan_ring_change("a", *v2, members, settings_for({}));
  BOOST_REQUIRE(v3);
  BOOST_REQUIRE(!v3->previous.empty());
  // a, b, c route with v3; d (still up, leaving) still routes with v2, whose
  // current assignment is the old one: it reads from the old owners.
  for (auto& m : members)
    m.ring_epoch = m.node_id == "d" ? v2->version : v3->version;
  auto v4 = plan_ring_change("a", *v3, members, settings_for({}));
  BOOST_TEST(!v4.has_value());
}

// Regression (a stale-read window): a removal planned while the last change drains drops
// `previous` without waiting for anyone (plan_removal has no readiness
// rule): nodes still on the transition ring read from the old owners, which
// writes placed with the removal ring no longer reach.
BOOST_AUTO_TEST_CASE(a_removal_during_a_drain_keeps_writing_to_the_old_owners) {
  std::vector<member_info> members{member("a"), member("b"), member("c"),
                                   member("d"), member("e")};
  auto v1 = plan_ring_change("a", {}, members,
                             settings_for({"a", "b", "c", "d", "e"}));
  BOOST_REQUIRE(v1);
  acknowledge(members, *v1);
  members[4].status = member_status::leaving;
  auto v2 = plan_ring_change("a", *v1, members, settings_for({}));
  BOOST_REQUIRE(v2);
  acknowledge(members, *v2);
  ring r;
  BOOST_REQUIRE(!ring::from_state(*v2, r));
  for (auto& id : r.receivers())
    for (auto& m : members)
      if (m.node_id == id)
        m.handoff_done = v2->transition;
  auto v3 = plan_ring_change("a", *v2, members, settings_for({}));
  BOOST_REQUIRE(v3 && !v3->previous.empty());
  // d dies before it routes with v3; the operator removes it.
  members[3].status = member_status::down;
  auto removal = plan_removal("a", *v3, members, "d");
  BOOST_REQUIRE(removal.ring);
  ring after;
  BOOST_REQUIRE(!ring::from_state(*removal.ring, after));
  // Some node (c, say) may still route with v2 and read from v2's current
  // (the old owners, e included): every write must still reach them.
  ring old;
  BOOST_REQUIRE(!ring::from_state(*v2, old));
  std::size_t unreached = 0;
  for (int k = 0; k < 500; ++k) {
    auto key = "k" + std::to_string(k);
    auto reached = after.preference_list(key, 3);
    auto extra = after.also_written_to(key, 3);
    reached.insert(reached.end(), extra.begin(), extra.end());
    for (auto& id : old.preference_list(key, 3))
      if (id != "d"
          && std::find(reached.begin(), reached.end(), id) == reached.end())
        ++unreached;
  }
  BOOST_TEST(unreached == 0u);
}
