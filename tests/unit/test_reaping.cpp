// The rules of tombstone reaping (issue 10): which records a reap may drop,
// when no tombstone may be reaped, and which keys the replicas agree on.
#define BOOST_TEST_MODULE reaping
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "actors/antientropy/reaping.hpp"
#include "actors/ring/claimant.hpp"
#include "tests/support/ring_members.hpp"

using namespace kv;
using namespace kv::testing;

namespace {

versioned_value write(const sibling_list& seen, const std::string& node,
                      bool tombstone, const std::string& value = {}) {
  return make_version(seen, highest_counter(seen, node), context_of(seen),
                      node, 1000, tombstone, value, 16);
}

struct deleted_key {
  versioned_value value = write({}, "n1", false, "v");
  versioned_value tombstone = write({value}, "n2", true);
  // A write the delete did not see.
  versioned_value concurrent = write({}, "n3", false, "w");
};

ring settled_ring(std::vector<member_info>& members) {
  ring r;
  BOOST_REQUIRE(!ring::from_state(first_ring_of(members), r));
  return r;
}

} // namespace

BOOST_FIXTURE_TEST_CASE(a_reap_drops_only_what_the_tombstones_supersede,
                        deleted_key) {
  sibling_list reaped{tombstone};
  BOOST_TEST(only_tombstones(reaped));
  BOOST_TEST(!only_tombstones({}));
  BOOST_TEST(!only_tombstones({tombstone, concurrent}));
  // The replicas' own copy, and an old owner's stale copy of the value.
  BOOST_TEST(superseded_by({tombstone}, reaped));
  BOOST_TEST(superseded_by({value}, reaped));
  // A write the delete did not see survives, alone or beside it.
  BOOST_TEST(!superseded_by({concurrent}, reaped));
  BOOST_TEST(!superseded_by({tombstone, concurrent}, reaped));
  // A newer delete is not the one agreed on.
  auto newer = write({tombstone}, "n1", true);
  BOOST_TEST(!superseded_by({newer}, reaped));
}

BOOST_AUTO_TEST_CASE(a_settled_ring_with_every_member_up_lets_reaping_run) {
  std::vector<member_info> members{member("a"), member("b"), member("c")};
  auto r = settled_ring(members);
  BOOST_TEST(!reap_blocker(r, members, "a").has_value());
}

BOOST_AUTO_TEST_CASE(a_member_that_is_not_up_or_behind_blocks_reaping) {
  std::vector<member_info> members{member("a"), member("b"), member("c")};
  auto r = settled_ring(members);
  for (auto status : {member_status::suspect, member_status::down,
                      member_status::leaving}) {
    auto view = members;
    view[2].status = status;
    auto why = reap_blocker(r, view, "a");
    BOOST_REQUIRE(why);
    BOOST_TEST(why->find("c is") != std::string::npos);
  }
  auto behind = members;
  behind[1].ring_epoch = 0;
  BOOST_TEST(reap_blocker(r, behind, "a").has_value());
  // A member of the ring this node has no card of yet.
  std::vector<member_info> partial{members[0], members[1]};
  BOOST_TEST(reap_blocker(r, partial, "a").has_value());
  // A node off the ring that is down may hold an old copy too.
  auto off_ring = members;
  off_ring.push_back(member("z", r.epoch(), member_status::down));
  BOOST_TEST(reap_blocker(r, off_ring, "a").has_value());
}

BOOST_AUTO_TEST_CASE(a_removed_member_does_not_block_reaping) {
  std::vector<member_info> members{member("a"), member("b"), member("c")};
  auto r = settled_ring(members);
  auto state = r.state();
  state.removed.push_back("z/7");
  ring with_removed;
  BOOST_REQUIRE(!ring::from_state(state, with_removed));
  members.push_back(member("z", 0, member_status::down));
  BOOST_TEST(!reap_blocker(with_removed, members, "a").has_value());
}

BOOST_AUTO_TEST_CASE(a_ring_change_in_transfer_blocks_reaping) {
  std::vector<member_info> members{member("a"), member("b"), member("c")};
  auto r = settled_ring(members);
  members.push_back(member("d", r.epoch()));
  auto change = plan_ring_change("a", r.state(), members, settings_for({}));
  BOOST_REQUIRE(change);
  BOOST_REQUIRE(change->transition != 0u);
  acknowledge(members, *change);
  ring moving;
  BOOST_REQUIRE(!ring::from_state(*change, moving));
  auto why = reap_blocker(moving, members, "a");
  BOOST_REQUIRE(why);
  BOOST_TEST(why->find("transfer") != std::string::npos);
  BOOST_TEST(reap_blocker(ring{}, members, "a").has_value());
}

BOOST_AUTO_TEST_CASE(keys_stay_agreed_only_while_every_answer_agrees) {
  reap_agreement all{{11, 22, 33, 44}};
  all.replica_answer({11, 22, 33, 44}, {});
  BOOST_TEST(all.agreed() == (std::vector<uint32_t>{0, 1, 2, 3}));
  // Another digest, a lost record, a held hint.
  all.replica_answer({11, 99, 33, 44}, {2});
  all.disagree({3});
  BOOST_TEST(all.agreed() == (std::vector<uint32_t>{0}));
  // Indices out of range are ignored; a malformed answer agrees on nothing.
  reap_agreement odd{{11, 22}};
  odd.disagree({7});
  BOOST_TEST(odd.agreed().size() == 2u);
  odd.replica_answer({11}, {});
  BOOST_TEST(odd.agreed().empty());
  reap_agreement silent{{11}};
  silent.no_answer();
  BOOST_TEST(silent.agreed().empty());
}

// Review finding (regression): a node that left the ring kept a card that
// turned `down` once it stopped, and `remove` refuses nodes off the ring,
// so one graceful leave blocked reaping on every node for good. The drain
// that ends a leave now records the leaver's process as removed.
BOOST_AUTO_TEST_CASE(a_node_that_left_and_stopped_does_not_block_reaping) {
  std::vector<member_info> members{member("a"), member("b"), member("c"),
                                   member("d")};
  auto r = settled_ring(members);
  members[3].status = member_status::leaving;
  auto state = r.state();
  for (int step = 0; step < 3; ++step) {
    auto next = plan_ring_change("a", state, members, settings_for({}));
    BOOST_REQUIRE(next);
    state = *next;
    acknowledge(members, state);
    for (auto& m : members)
      m.handoff_done = state.transition;
    if (state.transition == 0 && state.previous.empty())
      break;
  }
  BOOST_REQUIRE(state.previous.empty());
  BOOST_CHECK(was_removed(state, members[3]));
  ring settled;
  BOOST_REQUIRE(!ring::from_state(state, settled));
  // Still running, it may hold hints: it is asked, and blocks until up or
  // stopped (second review).
  BOOST_TEST(!gone_for_good(settled, members[3]));
  BOOST_TEST(reap_blocker(settled, members, "a").has_value());
  members[3].status = member_status::down;
  BOOST_TEST(!reap_blocker(settled, members, "a").has_value());
  // The same process running again (its old disk) is asked again.
  members[3].status = member_status::up;
  BOOST_TEST(!gone_for_good(settled, members[3]));
}

// Second review (regression): a leave that needs no copying completes at
// once, with no drain, and did not record the leaver: once stopped it
// blocked reaping for good. Three nodes with three replicas each hold every
// partition, so when one leaves the other two copy nothing.
BOOST_AUTO_TEST_CASE(a_leave_with_nothing_to_copy_records_the_leaver) {
  std::vector<member_info> members{member("a"), member("b"), member("c")};
  auto r = settled_ring(members);
  members[2].status = member_status::leaving;
  auto next = plan_ring_change("a", r.state(), members, settings_for({}));
  BOOST_REQUIRE(next);
  BOOST_REQUIRE_EQUAL(next->transition, 0u);
  BOOST_CHECK(was_removed(*next, members[2]));
}
