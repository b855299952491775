// Ring changes in a running cluster (issue 9): a join copies the partitions
// it takes over while writes also reach it, a leave hands everything over, a
// removed node's partitions are re-replicated from the survivors and the
// hints held for it reach the keys' owners.
#define BOOST_TEST_MODULE ring_changes
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tests/actors/cluster_fixture.hpp"

using namespace kv;
using namespace kv::testing;

namespace {

request_options all_three() {
  request_options opts;
  opts.n = 3;
  opts.w = 3;
  opts.r = 3;
  return opts;
}

ring_state ring_of(cluster_fixture& cluster, std::size_t i) {
  auto r = cluster.client(i).ring();
  BOOST_REQUIRE_MESSAGE(r, "ring: " << why(r));
  return *r;
}

// Every owner of every key (by node i's ring) stores `value_of(key)`.
bool every_owner_holds(cluster_fixture& cluster, std::size_t i,
                       const std::vector<std::string>& ks) {
  for (auto& key : ks) {
    auto owners = cluster.client(i).preference_list(key, 3);
    if (!owners || owners->size() != 3)
      return false;
    for (auto& id : *owners) {
      auto versions = cluster.stored_on(cluster.index_of(id), key);
      if (versions.size() != 1 || versions[0].value != "v-" + key)
        return false;
    }
  }
  return true;
}

void write_all(cluster_fixture& cluster, std::size_t via,
               const std::vector<std::string>& ks) {
  for (auto& key : ks) {
    auto res = cluster.client(via).put(key, "v-" + key, {}, all_three());
    BOOST_REQUIRE_MESSAGE(res, "put " << key << ": " << why(res));
  }
}

bool hints_for(cluster_fixture& cluster, const std::string& owner,
               std::size_t skip) {
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    if (i == skip)
      continue;
    auto pending = cluster.client(i).pending_hints();
    if (!pending)
      return true;
    for (auto& [id, count] : *pending)
      if (id == owner && count > 0)
        return true;
  }
  return false;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_join_copies_its_partitions_and_gets_writes_meanwhile) {
  // The joiner copies at 1 byte/s: its first chunk with data pauses the
  // copy for minutes, so the change stays in transfer while the test looks.
  cluster_fixture cluster{3, {"dc1"}, [](node_config& nc, std::size_t i) {
                            if (i == 3)
                              nc.handoff_bytes_per_s = 1;
                          }};
  BOOST_REQUIRE(cluster.converged(3));
  auto before = keys(100, "old");
  write_all(cluster, 0, before);
  auto joiner = cluster.add();
  BOOST_REQUIRE(eventually([&] { return ring_of(cluster, 0).transition != 0; }));
  // During the transfer: reads are served by the old owners, and writes to
  // a partition the joiner takes over reach it too.
  auto during = keys(100, "new");
  write_all(cluster, 0, during);
  auto ring = ring_of(cluster, 0);
  BOOST_REQUIRE(ring.transition != 0);
  std::size_t pending_writes = 0;
  for (auto& key : during) {
    auto got = cluster.client(joiner).get(key, all_three());
    BOOST_REQUIRE_MESSAGE(got, "get " << key << ": " << why(got));
    BOOST_TEST(got->siblings.size() == 1u);
    if (!cluster.stored_on(joiner, key).empty())
      ++pending_writes;
  }
  // The joiner takes over about 3/4 of the partitions (3 replicas on 4
  // nodes); every write to one of them reached it.
  BOOST_TEST(pending_writes > 50u);
  BOOST_TEST(pending_writes < 100u);
}

BOOST_AUTO_TEST_CASE(a_join_then_a_leave_move_every_replica) {
  cluster_fixture cluster{3, {"dc1"}};
  BOOST_REQUIRE(cluster.converged(3));
  auto ks = keys(150, "k");
  write_all(cluster, 1, ks);
  auto joiner = cluster.add();
  BOOST_REQUIRE(cluster.converged(4));
  BOOST_TEST(every_owner_holds(cluster, 0, ks));
  BOOST_TEST(ring_of(cluster, joiner).current.ids.size() == 4u);
  // n2 leaves: it keeps serving until the others hold its partitions.
  auto reply = cluster.client(1).leave();
  BOOST_REQUIRE_MESSAGE(reply, why(reply));
  BOOST_REQUIRE(eventually(
    [&] {
      auto r = ring_of(cluster, 0);
      return r.transition == 0 && r.current.ids.size() == 3u;
    },
    std::chrono::seconds{60}));
  BOOST_TEST(ring_of(cluster, 0).current.ids
             == (std::vector<std::string>{"n1", "n3", "n4"}));
  BOOST_TEST(every_owner_holds(cluster, 0, ks));
  cluster.stop(1);
  for (auto& key : ks) {
    auto got = cluster.client(0).get(key, all_three());
    BOOST_REQUIRE_MESSAGE(got, "get " << key << ": " << why(got));
  }
}

BOOST_AUTO_TEST_CASE(a_removed_node_is_re_replicated_and_its_hints_delivered) {
  cluster_fixture cluster{4, {"dc1"}};
  BOOST_REQUIRE(cluster.converged(4));
  auto ks = keys(100, "k");
  write_all(cluster, 0, ks);
  cluster.stop(3);
  BOOST_REQUIRE(eventually(
    [&] { return cluster.status_seen_by(0, "n4") == member_status::down; },
    std::chrono::seconds{30}));
  // Writes while n4 is down: n4's share is held as hints elsewhere.
  auto later = keys(100, "later");
  request_options sloppy;
  sloppy.n = 3;
  sloppy.w = 2;
  for (auto& key : later) {
    auto res = cluster.client(0).put(key, "v-" + key, {}, sloppy);
    BOOST_REQUIRE_MESSAGE(res, "put " << key << ": " << why(res));
  }
  BOOST_REQUIRE(hints_for(cluster, "n4", 3));
  // Only a dead node can be removed, and not by itself.
  auto refused = cluster.client(1).remove_node("n1");
  BOOST_TEST(!refused);
  auto reply = cluster.client(1).remove_node("n4");
  BOOST_REQUIRE_MESSAGE(reply, why(reply));
  BOOST_REQUIRE(eventually(
    [&] {
      auto r = ring_of(cluster, 0);
      return r.transition == 0 && r.current.ids.size() == 3u;
    },
    std::chrono::seconds{60}));
  BOOST_TEST(ring_of(cluster, 0).removed.size() == 1u);
  // Every key has all three replicas on the remaining nodes, the hints for
  // n4 included, and none is left pending for it.
  BOOST_TEST(every_owner_holds(cluster, 0, ks));
  BOOST_TEST(eventually([&] { return !hints_for(cluster, "n4", 3); },
                        std::chrono::seconds{30}));
  BOOST_TEST(every_owner_holds(cluster, 0, later));
}

BOOST_AUTO_TEST_CASE(a_replacement_node_takes_over_a_dead_nodes_partitions) {
  cluster_fixture cluster{4, {"dc1"}};
  BOOST_REQUIRE(cluster.converged(4));
  auto ks = keys(100, "k");
  write_all(cluster, 0, ks);
  cluster.stop(3);
  BOOST_REQUIRE(eventually(
    [&] { return cluster.status_seen_by(0, "n4") == member_status::down; },
    std::chrono::seconds{30}));
  auto reply = cluster.client(1).replace_node("n4", "n5");
  BOOST_REQUIRE_MESSAGE(reply, why(reply));
  BOOST_TEST(reply->find("replaced by n5") != std::string::npos);
  // n5 starts after the change was planned: it finds itself on the ring.
  auto n5 = cluster.add();
  BOOST_REQUIRE(eventually(
    [&] {
      auto r = ring_of(cluster, 0);
      return r.transition == 0 && r.previous.empty()
             && r.current.ids
                  == std::vector<std::string>{"n1", "n2", "n3", "n5"};
    },
    std::chrono::seconds{60}));
  BOOST_TEST(every_owner_holds(cluster, n5, ks));
}
