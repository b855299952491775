// Tombstone reaping (issue 10): deletes end. A tombstone goes once every
// replica holds it twice in a row, no hint for the key is held and every node
// is up; a value deleted while a replica was down never comes back; a reaped
// key's next write never reuses a dot; peers' malformed reaps get errors.
#define BOOST_TEST_MODULE tombstone_reaping
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "actors/key_hash.hpp"
#include "tests/actors/cluster_fixture.hpp"

using namespace kv;
using namespace kv::testing;

namespace {

// Three nodes in three data centres, every partition on all three, with
// fast anti-entropy and reaping and no grace period.
struct reaping_cluster {
  cluster_fixture cluster{3, {"dc1", "dc2", "dc3"},
                          [](node_config& nc, std::size_t) {
                            nc.ring.partitions = 64;
                            nc.aae_interval = std::chrono::milliseconds{2};
                            nc.reap_interval = std::chrono::milliseconds{50};
                            nc.tombstone_grace = std::chrono::milliseconds{0};
                            // Reaping waits out the longest request (and a
                            // margin) between a tombstone's two agreements.
                            nc.consistency.timeout_ms = 2000;
                            nc.max_request_timeout = std::chrono::milliseconds{2000};
                            nc.reap_settle_margin = std::chrono::milliseconds{200};
                          }};
  reaping_cluster() { BOOST_REQUIRE(cluster.converged(3)); }

  bool gone_everywhere(const std::string& key) {
    for (std::size_t i = 0; i < cluster.size(); ++i)
      if (!cluster.stored_on(i, key).empty())
        return false;
    return true;
  }

  // Keys whose record holds tombstones only, over every store of node i.
  uint64_t tombstones_on(std::size_t i) {
    caf::scoped_actor self{cluster.at(i).sys};
    uint64_t total = 0;
    for (auto& store : cluster.at(i).running->stores())
      self->request(store, std::chrono::seconds{5}, stats_atom::value)
        .receive([&](store_stats& s) { total += s.tombstones; },
                 [&](caf::error& err) {
                   BOOST_FAIL("stats: " << describe(err));
                 });
    return total;
  }

  uint64_t reaped_by_all() {
    uint64_t total = 0;
    for (std::size_t i = 0; i < cluster.size(); ++i) {
      auto status = cluster.client(i).reaping();
      BOOST_REQUIRE_MESSAGE(status, "reaping: " << why(status));
      total += status->reaped;
    }
    return total;
  }
};

request_options everyone() {
  request_options all;
  all.n = 3;
  all.w = 3;
  return all;
}

} // namespace

BOOST_FIXTURE_TEST_CASE(deleted_keys_leave_every_replica_and_live_ones_stay,
                        reaping_cluster) {
  auto deleted = keys(120, "gone-");
  auto live = keys(40, "kept-");
  for (auto& key : deleted) {
    auto put = cluster.client(0).put(key, "doomed", {}, everyone());
    BOOST_REQUIRE_MESSAGE(put, "put: " << why(put));
    auto del = cluster.client(1).remove(key, put->context, everyone());
    BOOST_REQUIRE_MESSAGE(del, "delete: " << why(del));
  }
  for (auto& key : live)
    BOOST_REQUIRE(cluster.client(2).put(key, "alive", {}, everyone()));
  bool reaped = eventually(
    [&] {
      for (auto& key : deleted)
        if (!gone_everywhere(key))
          return false;
      return tombstones_on(0) + tombstones_on(1) + tombstones_on(2) == 0;
    },
    std::chrono::seconds{60});
  BOOST_REQUIRE(reaped);
  BOOST_CHECK_EQUAL(reaped_by_all(), deleted.size());
  for (auto& key : live)
    for (std::size_t i = 0; i < 3; ++i) {
      auto versions = cluster.stored_on(i, key);
      BOOST_REQUIRE_EQUAL(versions.size(), 1u);
      BOOST_CHECK_EQUAL(versions.front().value, "alive");
    }
  auto got = cluster.client(2).get(deleted.front(), everyone());
  BOOST_REQUIRE_MESSAGE(got, "get: " << why(got));
  BOOST_CHECK(live_values(got->siblings).empty());
}

// The "doomstone" mistake: a replica that was down while a key was deleted
// still holds the value. No tombstone may go while it is down (it is the
// only place the value lives on); once it is back it gets the tombstone,
// and only then does every replica drop the key.
BOOST_FIXTURE_TEST_CASE(a_value_deleted_while_a_replica_was_down_never_returns,
                        reaping_cluster) {
  auto victims = keys(30, "doomed-");
  std::vector<vector_clock> contexts;
  for (auto& key : victims) {
    auto put = cluster.client(0).put(key, "old value", {}, everyone());
    BOOST_REQUIRE_MESSAGE(put, "put: " << why(put));
    contexts.push_back(put->context);
  }
  cluster.stop(2);
  BOOST_REQUIRE(eventually([&] {
    return cluster.status_seen_by(0, "n3") == member_status::down
           && cluster.status_seen_by(1, "n3") == member_status::down;
  }));
  request_options quorum;
  quorum.n = 3;
  quorum.w = 2;
  for (std::size_t k = 0; k < victims.size(); ++k) {
    auto del = cluster.client(0).remove(victims[k], contexts[k], quorum);
    BOOST_REQUIRE_MESSAGE(del, "delete: " << why(del));
  }
  // Several cycles pass blocked: the tombstones stay.
  BOOST_REQUIRE(eventually([&] {
    auto status = cluster.client(0).reaping();
    return status && status->state.find("blocked: n3 is down") == 0
           && status->cycles >= 5;
  }));
  for (auto& key : victims) {
    auto held = cluster.stored_on(0, key);
    BOOST_REQUIRE_EQUAL(held.size(), 1u);
    BOOST_CHECK(held.front().tombstone);
  }
  cluster.restart(2, cluster.config_for(2));
  BOOST_REQUIRE(cluster.converged(3));
  bool reaped = eventually(
    [&] {
      for (auto& key : victims)
        if (!gone_everywhere(key))
          return false;
      return true;
    },
    std::chrono::seconds{60});
  BOOST_REQUIRE(reaped);
  for (auto& key : victims) {
    auto got = cluster.client(2).get(key, everyone());
    BOOST_REQUIRE_MESSAGE(got, "get: " << why(got));
    BOOST_CHECK_MESSAGE(live_values(got->siblings).empty(),
                        key << " came back after reaping");
  }
}

// Regression: a reaped key's record took the highest counter its replica had
// issued with it, so the next write of the key would have reused the dot of
// the first version, and a client still holding that version's context
// would have silently superseded the new write.
BOOST_FIXTURE_TEST_CASE(a_reaped_key_never_reuses_a_dot, reaping_cluster) {
  const std::string key = "reborn";
  auto first = write_on_one(cluster, 0, key, "first", false, true);
  auto tombstone = write_on_one(cluster, 0, key, "", true);
  BOOST_REQUIRE(eventually([&] { return gone_everywhere(key); },
                           std::chrono::seconds{60}));
  auto fresh = write_on_one(cluster, 0, key, "fresh", false, true);
  BOOST_CHECK(!(fresh.origin == first.origin));
  BOOST_CHECK(!(fresh.origin == tombstone.origin));
  BOOST_CHECK_GT(fresh.origin.counter, tombstone.origin.counter);
  // A late writer with the first version's context adds a sibling; it
  // does not replace the fresh write.
  auto late = cluster.client(0).put(key, "late", first.history(), everyone());
  BOOST_REQUIRE_MESSAGE(late, "put: " << why(late));
  auto got = cluster.client(0).get(key, everyone());
  BOOST_REQUIRE(got);
  BOOST_CHECK_EQUAL(live_values(got->siblings).size(), 2u);
}

BOOST_FIXTURE_TEST_CASE(a_reap_keeps_what_the_delete_did_not_see,
                        reaping_cluster) {
  // The tombstone offered is concurrent with the stored value: nothing may
  // be dropped, and the store keeps both.
  const std::string key = "concurrent";
  write_on_one(cluster, 0, key, "unseen", false, true);
  versioned_value foreign;
  foreign.origin = dot{"elsewhere", 5};
  foreign.tombstone = true;
  partition_chunk batch;
  batch.keys = {key};
  batch.versions = {{foreign}};
  caf::scoped_actor self{cluster.at(0).sys};
  uint32_t dropped = 99;
  self
    ->request(cluster.store_for(0, key), std::chrono::seconds{5},
              reap_atom::value, batch)
    .receive([&](uint32_t n) { dropped = n; },
             [&](caf::error& err) { BOOST_FAIL("reap: " << describe(err)); });
  BOOST_CHECK_EQUAL(dropped, 0u);
  auto held = cluster.stored_on(0, key);
  BOOST_REQUIRE_EQUAL(held.size(), 2u);
  BOOST_CHECK_EQUAL(live_values(held).size(), 1u);
}

BOOST_FIXTURE_TEST_CASE(malformed_reaping_questions_get_errors,
                        reaping_cluster) {
  caf::scoped_actor self{cluster.at(0).sys};
  auto& stores = cluster.at(0).running->stores();
  auto count = static_cast<uint32_t>(stores.size());
  std::string other_key = "k";
  while (store_shard_of(other_key, count) == 0)
    other_key += "x";
  std::string own_key = "k";
  while (store_shard_of(own_key, count) != 0)
    own_key += "x";
  versioned_value value;
  value.origin = dot{"n1", 1};
  value.value = "not a tombstone";
  versioned_value tomb = value;
  tomb.tombstone = true;
  tomb.value.clear();
  auto reap_fails = [&](partition_chunk batch) {
    bool failed = false;
    self->request(stores[0], std::chrono::seconds{5}, reap_atom::value, batch)
      .receive([](uint32_t) {}, [&](caf::error&) { failed = true; });
    return failed;
  };
  partition_chunk with_value;
  with_value.keys = {own_key};
  with_value.versions = {{value}};
  BOOST_CHECK(reap_fails(with_value));
  partition_chunk wrong_store;
  wrong_store.keys = {other_key};
  wrong_store.versions = {{tomb}};
  BOOST_CHECK(reap_fails(wrong_store));
  partition_chunk too_many;
  too_many.keys.assign(max_keys_per_reap + 1, own_key);
  too_many.versions.assign(max_keys_per_reap + 1, {tomb});
  BOOST_CHECK(reap_fails(too_many));
  partition_chunk empty_key;
  empty_key.keys = {""};
  empty_key.versions = {{tomb}};
  BOOST_CHECK(reap_fails(empty_key));
  // Review finding (regression): the reaper asked one store for every key,
  // and it set aside another store's unreadable record, invalidating the
  // wrong tree. A key of another store is refused.
  bool foreign_digest_failed = false;
  self
    ->request(stores[0], std::chrono::seconds{5}, digest_atom::value,
              std::vector<std::string>{other_key})
    .receive([](std::vector<uint64_t>&, std::vector<uint32_t>&) {},
             [&](caf::error&) { foreign_digest_failed = true; });
  BOOST_CHECK(foreign_digest_failed);
  // Reaping waits out the longest request a node allows: a longer one is
  // refused with a clear error.
  request_options slow = everyone();
  slow.timeout_ms = 3000;
  auto refused = cluster.client(0).put("slow", "v", {}, slow);
  BOOST_REQUIRE(!refused);
  BOOST_CHECK(describe(refused.error()).find("max-request-timeout-ms")
              != std::string::npos);
  std::vector<std::string> many(max_keys_per_reap + 1, own_key);
  bool digest_failed = false;
  self->request(stores[0], std::chrono::seconds{5}, digest_atom::value, many)
    .receive([](std::vector<uint64_t>&, std::vector<uint32_t>&) {},
             [&](caf::error&) { digest_failed = true; });
  BOOST_CHECK(digest_failed);
  bool hints_failed = false;
  self
    ->request(cluster.at(0).running->hint_buffer(), std::chrono::seconds{5},
              hint_atom::value, many)
    .receive([](std::vector<uint32_t>&) {},
             [&](caf::error&) { hints_failed = true; });
  BOOST_CHECK(hints_failed);
  // The node still serves.
  BOOST_CHECK(cluster.client(0).put("after", "ok", {}, everyone()));
}
