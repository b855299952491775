#define BOOST_TEST_MODULE quorum
#include <boost/test/unit_test.hpp>

#include "actors/key_hash.hpp"
#include "actors/coordination/quorum.hpp"

using kv::quorum_tracker;
using outcome = quorum_tracker::outcome;

BOOST_AUTO_TEST_CASE(reached_after_required_successes) {
  quorum_tracker q{2, 3};
  BOOST_TEST((q.state() == outcome::pending));
  BOOST_TEST((q.record_success() == outcome::pending));
  BOOST_TEST((q.record_success() == outcome::reached));
  // Late replies do not change a decided outcome.
  BOOST_TEST((q.record_failure() == outcome::reached));
  BOOST_TEST(q.successes() == 2u);
}

BOOST_AUTO_TEST_CASE(impossible_once_too_few_remain) {
  quorum_tracker q{2, 3};
  BOOST_TEST((q.record_failure() == outcome::pending));
  BOOST_TEST((q.record_failure() == outcome::impossible));
  BOOST_TEST(q.outstanding() == 1u);
}

BOOST_AUTO_TEST_CASE(all_required_fails_on_first_failure) {
  quorum_tracker q{3, 3};
  BOOST_TEST((q.record_success() == outcome::pending));
  BOOST_TEST((q.record_failure() == outcome::impossible));
}

BOOST_AUTO_TEST_CASE(replies_beyond_contacted_are_ignored) {
  quorum_tracker q{1, 1};
  q.record_failure();
  BOOST_TEST((q.record_success() == outcome::impossible));
  BOOST_TEST(q.successes() == 0u);
}

BOOST_AUTO_TEST_CASE(more_required_than_contacted_is_impossible) {
  quorum_tracker q{3, 2};
  BOOST_TEST((q.state() == outcome::impossible));
}

BOOST_AUTO_TEST_CASE(stable_hash_is_fixed_across_builds) {
  // Placement depends on these values: they must never change. The expected
  // value comes from an independent (Python) FNV-1a + fmix64 computation.
  BOOST_TEST(kv::stable_hash("") == kv::stable_hash(""));
  BOOST_TEST(kv::stable_hash("a") != kv::stable_hash("b"));
  BOOST_TEST(kv::stable_hash("key") == 0xcf8c79838f3b3030ull);
}

BOOST_AUTO_TEST_CASE(store_shards_spread_keys) {
  std::vector<int> counts(4);
  for (int i = 0; i < 4000; ++i)
    ++counts[kv::store_shard_of("key" + std::to_string(i), 4)];
  for (int c : counts) {
    BOOST_TEST(c > 800);
    BOOST_TEST(c < 1200);
  }
  BOOST_TEST(kv::store_shard_of("x", 1) == 0u);
}
