// What a node knows across restarts: the ring it was part of (so a node
// restarted while cut off never owns every key itself), and that every owner
// that missed a write gets it later through a hint.
#define BOOST_TEST_MODULE rejoin
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <set>

#include "persistence/node_files.hpp"
#include "persistence/storage_error.hpp"
#include "tests/actors/cluster_fixture.hpp"
#include "tests/support/print_types.hpp"

using namespace kv;
using namespace kv::testing;
using namespace std::chrono_literals;

namespace {

// A port nothing listens on: connecting is refused at once.
constexpr uint16_t dead_port = 1;

uint64_t hints_held(blocking_client& client) {
  auto pending = client.pending_hints();
  BOOST_REQUIRE(pending);
  uint64_t total = 0;
  for (auto& [owner, count] : *pending)
    total += count;
  return total;
}

} // namespace

// Regression (issue 8.2): a node restarted while its seeds were unreachable
// ran a one-node ring (N=1, W=1, every key owned locally) and acknowledged
// writes that were stranded once the ring formed again.
BOOST_AUTO_TEST_CASE(a_node_restarted_cut_off_keeps_the_ring_it_knew) {
  cluster_fixture cluster{3, {"dc1", "dc2", "dc3"}};
  BOOST_REQUIRE(cluster.converged(3));
  auto full = cluster.client(0).preference_list("some-key", 3);
  BOOST_REQUIRE(full);
  BOOST_REQUIRE(full->size() == 3u);
  cluster.stop(2);
  auto nc = cluster.config_for(2);
  nc.membership.seeds = {seed_address{"127.0.0.1", dead_port}};
  // Nothing in this process may answer n3: stop the others too.
  cluster.stop(0);
  cluster.stop(1);
  nc.membership.seeds = {seed_address{"127.0.0.1", dead_port}};
  cluster.restart(2, nc);
  auto owners = cluster.client(2).preference_list("some-key", 3);
  BOOST_REQUIRE(owners);
  BOOST_TEST(*owners == *full);
  // With the default N=3 and W=2 a lone node cannot acknowledge: refused,
  // never written as if it were the whole cluster.
  auto lone = cluster.client(2).put("some-key", "v");
  BOOST_REQUIRE(!lone);
  BOOST_TEST(is_kv_error(lone.error(), kv_errc::write_quorum_failed),
             describe(lone.error()));
}

BOOST_AUTO_TEST_CASE(a_new_node_with_unreachable_seeds_refuses_requests) {
  cluster_fixture cluster{1};
  cluster.stop(0);
  auto nc = cluster.config_for(0);
  nc.node_id = "fresh";
  nc.storage.data_dir += "-fresh";
  nc.membership.seeds = {seed_address{"127.0.0.1", dead_port}};
  cluster.restart(0, nc);
  auto put = cluster.client(0).put("k", "v");
  BOOST_REQUIRE(!put);
  BOOST_TEST(is_kv_error(put.error(), kv_errc::unavailable));
  BOOST_TEST(describe(put.error()).find("not joined") != std::string::npos);
  auto get = cluster.client(0).get("k");
  BOOST_REQUIRE(!get);
  BOOST_TEST(is_kv_error(get.error(), kv_errc::unavailable));
}

// Regression (issue 8.9): with 3 nodes, N=3 and one down there is no node to
// stand in, and the write succeeded with nothing kept for the down owner.
BOOST_AUTO_TEST_CASE(an_owner_without_a_stand_in_still_gets_a_hint) {
  cluster_fixture cluster{3, {"dc1", "dc2", "dc3"}, [](node_config& nc, std::size_t) {
    nc.membership.detection.suspect_after = 600ms;
    nc.membership.detection.down_after = 1200ms;
  }};
  BOOST_REQUIRE(cluster.converged(3));
  cluster.stop(2);
  BOOST_REQUIRE(eventually([&] {
    return cluster.status_seen_by(0, "n3") == member_status::down;
  }));
  BOOST_REQUIRE(cluster.client(0).put("held", "for n3"));
  BOOST_TEST(hints_held(cluster.client(0)) == 1u);
  // Strict writes count only owners but still keep the write for n3.
  request_options strict;
  strict.strict_quorum = true;
  BOOST_REQUIRE(cluster.client(0).put("held-strict", "for n3", {}, strict));
  BOOST_TEST(hints_held(cluster.client(0)) == 2u);
  // n3 comes back and receives both.
  cluster.restart(2, cluster.config_for(2));
  BOOST_TEST(eventually([&] {
    return cluster.stored_on(2, "held").size() == 1u
           && cluster.stored_on(2, "held-strict").size() == 1u;
  }));
}

// Regression (issue 8.3): a second process under a live node's id was taken
// in gossip (its heartbeat, from a later wall clock, was higher), shadowed
// the real node and issued its dots from an empty store.
BOOST_AUTO_TEST_CASE(a_second_live_node_with_the_same_id_is_refused) {
  cluster_fixture cluster{2};
  BOOST_REQUIRE(cluster.converged(2));
  auto real = cluster.at(1).running->identity().incarnation;
  std::atomic<bool> refused{false};
  test_node impostor;
  auto nc = cluster.config_for(1);
  nc.storage.data_dir += "-impostor";
  nc.membership.on_id_conflict = [&](const std::string&) { refused = true; };
  impostor.running = node::start(impostor.sys, nc);
  BOOST_TEST(impostor.running->identity().incarnation != real);
  BOOST_TEST(eventually([&] { return refused.load(); }));
  impostor.running->stop();
  // n1 kept the real n2 all along, and it stays up.
  auto still = [&] {
    for (auto& m : cluster.members_seen_by(0))
      if (m.node_id == "n2")
        return m.incarnation == real && m.status == member_status::up;
    return false;
  };
  BOOST_TEST(still());
  BOOST_TEST(static_cast<bool>(cluster.client(0).put("k", "v", {}, [] {
    request_options all;
    all.n = all.w = 2;
    return all;
  }())));
  BOOST_TEST(still());
}

// Found in review: a seed that is this node under another spelling made it
// gossip with itself, answer itself `duplicate_node` and stop.
BOOST_AUTO_TEST_CASE(a_seed_that_is_the_node_itself_is_harmless) {
  cluster_fixture cluster{1};
  std::atomic<bool> refused{false};
  auto port = cluster.at(0).running->port();
  cluster.stop(0);
  auto nc = cluster.config_for(0);
  nc.port = port;
  nc.membership.seeds = {seed_address{"localhost", port}};
  nc.membership.on_id_conflict = [&](const std::string&) { refused = true; };
  cluster.restart(0, nc);
  // Several gossip rounds (50 ms each) with itself as the only seed.
  auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until && !refused)
    std::this_thread::sleep_for(20ms);
  BOOST_TEST(!refused.load());
}

// Regression (review of issue 8.2): the saved membership was decoded with
// bounds but its members were not checked like gossiped ones, so a damaged
// MEMBERS file could put a member with port 0 or an unknown status on the
// ring. Now the node refuses to start and says which file to remove.
BOOST_AUTO_TEST_CASE(an_invalid_saved_member_is_refused_at_start) {
  temp_dir dir{"kv_rejoin_members"};
  node_config nc;
  nc.node_id = "n1";
  nc.publish = false;
  nc.storage.data_dir = (dir.path / "n1").string();
  nc.storage.cache_size_mb = 16;
  std::filesystem::create_directories(nc.storage.data_dir);
  member_info bad;
  bad.node_id = "n2";
  bad.dc = "dc1";
  bad.host = "127.0.0.1";
  bad.port = 0;
  save_membership(nc.storage.data_dir, {bad});
  client_config cfg;
  caf::actor_system sys{cfg};
  try {
    node::start(sys, nc);
    BOOST_FAIL("a node started with an invalid saved member");
  } catch (const storage_error& e) {
    BOOST_TEST(std::string{e.what()}.find("invalid member") != std::string::npos,
               e.what());
  }
}

// Regression (review of issue 8.3): a card of another incarnation relayed by
// a third node replaced the known card as soon as the known one was down.
// Incarnations are random, not ordered, so a late copy of an old card could
// flip a wiped node back to its dead incarnation and get the live process
// refused. Only the process itself is believed now.
BOOST_AUTO_TEST_CASE(a_relayed_card_of_another_incarnation_is_not_taken) {
  cluster_fixture cluster{2};
  BOOST_REQUIRE(cluster.converged(2));
  auto real = cluster.at(1).running->identity().incarnation;
  cluster.stop(1);
  BOOST_REQUIRE(eventually(
    [&] { return cluster.status_seen_by(0, "n2") == member_status::down; },
    30s));
  node_card stale;
  for (auto& m : cluster.members_seen_by(0))
    if (m.node_id == "n2")
      stale.info = m;
  stale.info.incarnation = real + 1;
  stale.info.heartbeat += 1000;
  stale.info.status = member_status::up;
  auto& n1 = *cluster.at(0).running;
  stale.coordinator = n1.coordinator();
  stale.gossiper = n1.gossiper();
  stale.hints = n1.hint_buffer();
  stale.stores = n1.stores();
  caf::scoped_actor self{cluster.at(0).sys};
  self
    ->request(n1.gossiper(), 5s, gossip_atom::value, std::string{"relay"},
              std::vector<node_card>{stale}, std::vector<std::string>{},
              uint64_t{0}, ring_state{})
    .receive([](const std::string&, std::vector<node_card>&,
                std::vector<std::string>&, uint64_t, ring_state&) {},
             [](caf::error& err) { BOOST_FAIL(describe(err)); });
  for (auto& m : cluster.members_seen_by(0))
    if (m.node_id == "n2")
      BOOST_TEST(m.incarnation == real);
}
