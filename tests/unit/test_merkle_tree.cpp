// The Merkle trees of anti-entropy (no CAF): digests, tree shape, the
// XOR combination of shards, and builds that race writes.
#define BOOST_TEST_MODULE merkle_tree
#include <boost/test/unit_test.hpp>

#include <limits>
#include <map>
#include <string>

#include "actors/antientropy/merkle_tree.hpp"
#include "actors/key_hash.hpp"

using namespace kv;

namespace {

versioned_value version(const std::string& node, uint64_t counter,
                        const std::string& value, bool tombstone = false) {
  versioned_value v;
  v.origin = dot{node, counter};
  v.timestamp_ms = 1000 + counter;
  v.tombstone = tombstone;
  v.value = value;
  return v;
}

constexpr uint64_t partition_width = uint64_t{1} << 58; // 64 partitions

uint64_t position_of(const std::string& key) {
  return *position_in(stored_key(key));
}

} // namespace

BOOST_AUTO_TEST_CASE(digest_covers_the_whole_sibling_set_in_any_order) {
  auto a = version("n1", 1, "x");
  auto b = version("n2", 1, "y");
  BOOST_CHECK_EQUAL(key_digest("k", {a, b}), key_digest("k", {b, a}));
  BOOST_CHECK_NE(key_digest("k", {a, b}), key_digest("k", {a}));
  BOOST_CHECK_NE(key_digest("k", {a}), key_digest("j", {a}));
  auto changed = a;
  changed.value = "z";
  BOOST_CHECK_NE(key_digest("k", {a}), key_digest("k", {changed}));
  auto deleted = version("n1", 1, "", true);
  BOOST_CHECK_NE(key_digest("k", {deleted}), key_digest("k", {version("n1", 1, "")}));
  BOOST_CHECK_EQUAL(key_digest("k", {}), 0u);
  BOOST_CHECK_NE(key_digest("k", {a}), 0u);
}

BOOST_AUTO_TEST_CASE(ranges_must_be_aligned_powers_of_two) {
  BOOST_CHECK(merkle_tree::valid_range(0, partition_width - 1));
  BOOST_CHECK(merkle_tree::valid_range(partition_width, 2 * partition_width - 1));
  BOOST_CHECK(merkle_tree::valid_range(0, std::numeric_limits<uint64_t>::max()));
  BOOST_CHECK(!merkle_tree::valid_range(1, partition_width));
  BOOST_CHECK(!merkle_tree::valid_range(0, 1000));
  BOOST_CHECK(!merkle_tree::valid_range(0, 127)); // narrower than 256 segments
  BOOST_CHECK(!merkle_tree::valid_range(5, 1));
}

BOOST_AUTO_TEST_CASE(a_difference_shows_on_its_path_only) {
  merkle_tree a{0, partition_width - 1};
  merkle_tree b{0, partition_width - 1};
  BOOST_CHECK_EQUAL(*a.node(0, 0), *b.node(0, 0));
  auto pos = partition_width / 2 + 12345;
  a.toggle(pos, 0xabcdef);
  auto segment = a.segment_of(pos);
  BOOST_CHECK_EQUAL(segment, merkle_segments / 2);
  BOOST_CHECK_NE(*a.node(0, 0), *b.node(0, 0));
  for (uint32_t i = 0; i < merkle_fanout; ++i)
    BOOST_CHECK_EQUAL(*a.node(1, i) != *b.node(1, i), i == segment / merkle_fanout);
  for (uint32_t i = 0; i < merkle_segments; ++i)
    BOOST_CHECK_EQUAL(*a.node(2, i) != *b.node(2, i), i == segment);
  auto [first, last] = a.segment_range(segment);
  BOOST_CHECK(first <= pos && pos <= last);
  BOOST_CHECK_EQUAL(last - first + 1, partition_width / merkle_segments);
  // Toggling again removes it.
  a.toggle(pos, 0xabcdef);
  BOOST_CHECK_EQUAL(*a.node(0, 0), *b.node(0, 0));
  BOOST_CHECK(!a.node(3, 0));
  BOOST_CHECK(!a.node(1, merkle_fanout));
  BOOST_CHECK_EQUAL(merkle_children(0, 0).size(), merkle_fanout);
  BOOST_CHECK(merkle_children(2, 0).empty());
}

BOOST_AUTO_TEST_CASE(shard_trees_combine_by_xor_into_the_nodes_tree) {
  // One node holds keys in two shards, another in one: the XOR of the
  // first node's shard trees equals the second's tree.
  merkle_tree shard0{0, std::numeric_limits<uint64_t>::max()};
  merkle_tree shard1{0, std::numeric_limits<uint64_t>::max()};
  merkle_tree whole{0, std::numeric_limits<uint64_t>::max()};
  for (int i = 0; i < 500; ++i) {
    auto key = "key-" + std::to_string(i);
    auto digest = key_digest(key, {version("n1", 1, key)});
    (store_shard_of(key, 2) == 0 ? shard0 : shard1).toggle(position_of(key), digest);
    whole.toggle(position_of(key), digest);
  }
  for (uint32_t level = 0; level < merkle_levels; ++level)
    for (uint32_t i = 0; i < merkle_tree::nodes_at(level); ++i)
      BOOST_CHECK_EQUAL(*shard0.node(level, i) ^ *shard1.node(level, i),
                        *whole.node(level, i));
}

BOOST_AUTO_TEST_CASE(a_build_counts_writes_it_has_read_past_only) {
  // Two keys in one partition (the whole ring), in storage order.
  auto first = uint64_t{0}, last = std::numeric_limits<uint64_t>::max();
  auto ka = stored_key("a"), kb = stored_key("b");
  auto [low, high] = ka < kb ? std::pair{ka, kb} : std::pair{kb, ka};
  auto low_pos = *position_in(low), high_pos = *position_in(high);
  merkle_forest forest{{}};
  BOOST_CHECK(forest.ask(first, last, 0) == merkle_forest::status::building);
  auto step = forest.next_build();
  BOOST_REQUIRE(step);
  BOOST_CHECK(step->resume_after.empty());
  // Before the build reads anything, writes are left to it.
  forest.on_write(low, low_pos, 0, 3);
  // The build read the low key (digest 5); then both keys change: the low
  // key's change counts (read already), the high key's does not (the build
  // reads its new record later).
  forest.built_up_to(first, last, low, {{low_pos, 5}});
  BOOST_CHECK_EQUAL(forest.next_build()->resume_after, low);
  forest.on_write(low, low_pos, 5, 6);
  forest.on_write(high, high_pos, 0, 9);
  forest.build_done(first, last, 10);
  BOOST_CHECK(forest.ask(first, last, 10) == merkle_forest::status::ready);
  BOOST_CHECK(!forest.next_build());
  merkle_tree expected{first, last};
  expected.toggle(low_pos, 6);
  BOOST_CHECK_EQUAL(*forest.ready_tree(first, last)->node(0, 0),
                    *expected.node(0, 0));
  // Built: every write counts.
  forest.on_write(high, high_pos, 0, 9);
  expected.toggle(high_pos, 9);
  BOOST_CHECK_EQUAL(*forest.ready_tree(first, last)->node(0, 0),
                    *expected.node(0, 0));
}

BOOST_AUTO_TEST_CASE(trees_age_out_and_invalidation_rebuilds) {
  merkle_forest::settings s;
  s.rebuild_after_ms = 1000;
  merkle_forest forest{s};
  forest.ask(0, partition_width - 1, 0);
  forest.build_done(0, partition_width - 1, 0);
  BOOST_CHECK(forest.ask(0, partition_width - 1, 999) == merkle_forest::status::ready);
  BOOST_CHECK(forest.ask(0, partition_width - 1, 1000)
              == merkle_forest::status::building);
  forest.build_done(0, partition_width - 1, 1000);
  forest.invalidate(5);
  BOOST_CHECK(forest.ask(0, partition_width - 1, 1001)
              == merkle_forest::status::building);
}

BOOST_AUTO_TEST_CASE(the_forest_is_bounded) {
  merkle_forest::settings s;
  s.max_trees = 4;
  merkle_forest forest{s};
  for (uint64_t p = 0; p < 10; ++p)
    forest.ask(p * partition_width, (p + 1) * partition_width - 1, 0);
  BOOST_CHECK_EQUAL(forest.size(), 4u);
  // Other widths: at most two kept; the ring's own comes back as asked.
  forest.ask(0, (uint64_t{1} << 40) - 1, 0);
  forest.ask(0, (uint64_t{1} << 41) - 1, 0);
  BOOST_CHECK(forest.size() <= 4u);
  BOOST_CHECK(forest.ask(0, 1000, 0) == merkle_forest::status::bad_range);
  BOOST_CHECK(forest.ask(0, partition_width - 1, 0)
              == merkle_forest::status::building);
}

BOOST_AUTO_TEST_CASE(a_pinned_width_keeps_foreign_asks_from_evicting_trees) {
  // Regression (review of issue 10): asks of two other widths evicted the
  // ring's trees, so every exchange with the node met a tree being built.
  merkle_forest forest{{}};
  forest.pin(partition_width - 1, {0, partition_width});
  forest.ask(0, partition_width - 1, 0);
  forest.build_done(0, partition_width - 1, 0);
  BOOST_CHECK(forest.ask(0, (uint64_t{1} << 20) - 1, 0)
              == merkle_forest::status::bad_range);
  BOOST_CHECK(forest.ask(0, (uint64_t{1} << 21) - 1, 0)
              == merkle_forest::status::bad_range);
  BOOST_CHECK(forest.ask(0, partition_width - 1, 0)
              == merkle_forest::status::ready);
  forest.pin(12345, {0}); // not a width: ignored
  BOOST_CHECK(forest.ask(0, partition_width - 1, 0)
              == merkle_forest::status::ready);
}

BOOST_AUTO_TEST_CASE(only_the_partitions_held_have_trees_once_pinned) {
  // Regression (second review of issue 10): asks of the ring's width for
  // partitions this node does not hold evicted its own trees, and a node
  // holding more partitions than max_trees never had a tree ready.
  merkle_forest::settings s;
  s.max_trees = 4;
  merkle_forest forest{s};
  std::vector<uint64_t> held;
  for (uint64_t p = 0; p < 10; ++p)
    held.push_back(p * partition_width);
  forest.pin(partition_width - 1, held);
  for (auto first : held) {
    forest.ask(first, first + partition_width - 1, 0);
    forest.build_done(first, first + partition_width - 1, 0);
  }
  BOOST_CHECK_EQUAL(forest.size(), 10u); // held: not bounded by max_trees
  for (uint64_t p = 10; p < 40; ++p)
    BOOST_CHECK(forest.ask(p * partition_width, (p + 1) * partition_width - 1, 0)
                == merkle_forest::status::bad_range);
  for (auto first : held)
    BOOST_CHECK(forest.ask(first, first + partition_width - 1, 0)
                == merkle_forest::status::ready);
  // The ring changed: partitions no longer held are dropped.
  forest.pin(partition_width - 1, {0});
  BOOST_CHECK_EQUAL(forest.size(), 1u);
}

// The trees count the keys of the partitions a node holds (kvsh `nodes`),
// as the build reads them and as writes add or delete them.
BOOST_AUTO_TEST_CASE(trees_count_the_keys_of_held_partitions) {
  merkle_forest forest{{}};
  BOOST_CHECK(!forest.keys().complete); // not pinned: nothing known
  forest.pin(partition_width - 1, {0, partition_width});
  forest.ask(0, partition_width - 1, 0);
  forest.built_up_to(0, partition_width - 1, "k", {{1, 11}, {2, 12}});
  forest.build_done(0, partition_width - 1, 0);
  auto counted = forest.keys();
  BOOST_CHECK_EQUAL(counted.keys, 2u);
  BOOST_CHECK(!counted.complete); // the second partition has no tree yet
  forest.ask(partition_width, 2 * partition_width - 1, 0);
  forest.build_done(partition_width, 2 * partition_width - 1, 0);
  BOOST_CHECK(forest.keys().complete);
  forest.on_write("z", partition_width + 5, 0, 7); // a new key
  forest.on_write("k", 1, 11, 13);                 // a change: same count
  BOOST_CHECK_EQUAL(forest.keys().keys, 3u);
  forest.on_write("k", 2, 12, 0); // dropped (reaped)
  BOOST_CHECK_EQUAL(forest.keys().keys, 2u);
  forest.invalidate(1); // rebuilt from the data: not counted until read
  BOOST_CHECK_EQUAL(forest.keys().keys, 1u);
  BOOST_CHECK(!forest.keys().complete);
}
