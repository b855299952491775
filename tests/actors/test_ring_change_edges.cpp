// Ring changes against hostile messages and odd settings, found by the
// independent review of issue 9 (each failed on 7ba9f75): more replicas than
// a partition holds, a stop or handoff report sent from outside the node,
// a joiner with a smaller value limit than the cluster's.
#define BOOST_TEST_MODULE ring_change_edges
#include <boost/test/unit_test.hpp>

#include <string>
#include <thread>
#include <vector>

#include "tests/actors/cluster_fixture.hpp"

using namespace kv;
using namespace kv::testing;

namespace {

ring_state ring_of(cluster_fixture& cluster, std::size_t i) {
  auto r = cluster.client(i).ring();
  BOOST_REQUIRE_MESSAGE(r, "ring: " << why(r));
  return *r;
}

// No change in transfer, nothing draining, `count` members, on every node.
bool settled(cluster_fixture& cluster, std::size_t count) {
  return eventually(
    [&] {
      for (std::size_t i = 0; i < cluster.size(); ++i) {
        if (!cluster.at(i).running)
          continue;
        auto r = cluster.client(i).ring();
        if (!r || r->transition != 0 || !r->previous.empty()
            || r->current.ids.size() != count)
          return false;
      }
      return true;
    },
    std::chrono::seconds{60});
}

} // namespace

// Regression (stale reads with R+W>N): a request could ask for more
// replicas than a partition's list holds; the extra ones came from the
// following partitions and no handoff copied them, so after a join reads
// missed acknowledged writes. Such a request is refused now.
BOOST_AUTO_TEST_CASE(more_replicas_than_a_partition_holds_are_refused) {
  cluster_fixture cluster{5, {"dc1"}};
  BOOST_REQUIRE(cluster.converged(5));
  BOOST_REQUIRE(settled(cluster, 5));
  auto wide = cluster.client(0).put("wide", "v", {}, replicas(4, 4, 1));
  BOOST_REQUIRE(!wide);
  BOOST_TEST(is_kv_error(wide.error(), kv_errc::invalid_argument));
  BOOST_TEST(describe(wide.error()).find("replicas a partition has")
             != std::string::npos);
  auto read = cluster.client(0).get("wide", replicas(5, 1, 1));
  BOOST_TEST(!read);
  BOOST_TEST(static_cast<bool>(cluster.client(0).put("fits", "v", {},
                                                     replicas(3, 3, 1))));
}

// Regression (a hang from one message): stopping_atom is part of the public gossiper interface
// (a client gets any node's gossiper from join_atom on its coordinator).
// One such message makes the node announce itself down, and its own card
// stays down for as long as it runs: the peers never use it again, and no
// ring change can start (readiness needs every member up).
BOOST_AUTO_TEST_CASE(one_stopping_message_does_not_take_a_live_node_out) {
  cluster_fixture cluster{3, {"dc1"}};
  BOOST_REQUIRE(cluster.converged(3));
  BOOST_REQUIRE(settled(cluster, 3));
  {
    // As a remote client would: join_atom hands out the gossiper.
    caf::scoped_actor self{cluster.at(0).sys};
    gossiper_actor gossiper;
    self
      ->request(cluster.at(1).running->coordinator(), std::chrono::seconds{5},
                join_atom::value)
      .receive([&](gossiper_actor& g) { gossiper = g; },
               [&](caf::error& err) { BOOST_FAIL(describe(err)); });
    self->request(gossiper, std::chrono::seconds{5}, stopping_atom::value)
      .receive([](ok_atom) {}, [](caf::error&) {});
  }
  // Nothing to await: the test is that nothing happens.
  std::this_thread::sleep_for(std::chrono::seconds{2});
  // n2 is alive and was never stopped.
  BOOST_TEST(std::string{to_string(cluster.status_seen_by(0, "n2"))} == "up");
  auto put = cluster.client(0).put("after-stop", "v", {}, replicas(3, 3, 3));
  BOOST_TEST(static_cast<bool>(put), "put n=3 w=3: " << why(put));
  cluster.add();
  BOOST_TEST(cluster.converged(4)); // the join never starts: 20 s timeout
}

// Regression (stale reads from one message): handoff_atom is in the public gossiper interface
// too. One message to a receiver's gossiper sets its handoff_done; the
// claimant completes the change although nothing was copied.
BOOST_AUTO_TEST_CASE(a_forged_handoff_report_does_not_complete_a_join) {
  cluster_fixture cluster{3, {"dc1"}, [](node_config& nc, std::size_t i) {
                            if (i == 3)
                              nc.handoff_bytes_per_s = 1; // copy stalls
                          }};
  BOOST_REQUIRE(cluster.converged(3));
  BOOST_REQUIRE(settled(cluster, 3));
  auto ks = keys(100, "old");
  for (auto& key : ks)
    BOOST_REQUIRE(cluster.client(0).put(key, "v-" + key, {}, replicas(3, 3, 1)));
  auto joiner = cluster.add();
  BOOST_REQUIRE(eventually([&] { return ring_of(cluster, 0).transition != 0; }));
  auto transition = ring_of(cluster, 0).transition;
  caf::anon_send(cluster.at(joiner).running->gossiper(), handoff_atom::value,
                 transition);
  // Wait (bounded) for the forged completion to take effect.
  bool completed = eventually(
    [&] {
      auto r = ring_of(cluster, 0);
      return r.transition == 0 && r.current.ids.size() == 4u;
    },
    std::chrono::seconds{20});
  std::size_t misses = 0;
  if (completed)
    for (auto& key : ks) {
      // W=3, R=1, N=3; through the joiner, whose local answer comes first.
      auto got = cluster.client(joiner).get(key, replicas(3, 1, 1));
      if (got && got->siblings.empty())
        ++misses;
    }
  BOOST_TEST_MESSAGE("completed: " << completed << ", misses: " << misses);
  BOOST_TEST(misses == 0u);
}

// Regression (a join that never completed): the receiver validates chunks with ITS OWN value limit
// (chunk_problem(chunk, settings.max_value_bytes)); a record the cluster
// accepted under a larger limit makes the whole partition fail and retry
// forever: the join never completes, and (transition != 0) no other change
// can be planned; the joiner cannot leave either.
BOOST_AUTO_TEST_CASE(a_joiner_with_a_smaller_value_limit_completes_its_join) {
  cluster_fixture cluster{3, {"dc1"}, [](node_config& nc, std::size_t i) {
                            if (i == 3)
                              nc.max_value_bytes = 1000;
                          }};
  BOOST_REQUIRE(cluster.converged(3));
  BOOST_REQUIRE(settled(cluster, 3));
  for (auto& key : keys(20, "big"))
    BOOST_REQUIRE(cluster.client(0).put(key, std::string(5000, 'x'), {},
                                        replicas(3, 3, 1)));
  cluster.add();
  BOOST_TEST(settled(cluster, 4)); // 60 s, then fails
}
