// Unit tests for kv::vector_clock, valid_node_id and the request validators
// (key_problem, value_problem, context_problem, options_problem, resolve).
//
// Deterministic: every randomised test uses std::mt19937 with a fixed seed.
// No test carries expected_failures: the defects found by the first version
// of this suite (counter wrap-around at UINT64_MAX, trailing comma accepted
// by from_token) are fixed and their tests are now regression tests.

#define BOOST_TEST_MODULE test_vector_clock
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "messages/limits.hpp"
#include "messages/request.hpp"
#include "messages/vector_clock.hpp"
#include "tests/support/print_types.hpp"


using kv::causal_order;
using kv::clock_entry;
using kv::dot;
using kv::vector_clock;

namespace {

constexpr uint64_t u64_max = std::numeric_limits<uint64_t>::max();
// The first counter from_token and context_problem refuse (2^62).
constexpr uint64_t too_big = kv::max_clock_counter;
constexpr uint64_t largest_ok = kv::max_clock_counter - 1;

vector_clock clk(std::vector<clock_entry> entries) {
  return vector_clock{std::move(entries)};
}

// Entries including timestamps (operator== ignores timestamps).
using entry_tuple = std::tuple<std::string, uint64_t, uint64_t>;

std::vector<entry_tuple> full(const vector_clock& c) {
  std::vector<entry_tuple> out;
  for (auto& e : c.entries())
    out.emplace_back(e.node, e.counter, e.timestamp_ms);
  return out;
}

bool same_with_timestamps(const vector_clock& x, const vector_clock& y) {
  return full(x) == full(y);
}

// The structural invariant every clock must keep: sorted by node, no
// duplicate nodes, only positive counters.
bool well_formed(const vector_clock& c) {
  auto& es = c.entries();
  for (std::size_t i = 0; i < es.size(); ++i) {
    if (es[i].counter == 0)
      return false;
    if (i > 0 && !(es[i - 1].node < es[i].node))
      return false;
  }
  return true;
}

vector_clock merged(vector_clock x, const vector_clock& y) {
  x.merge(y);
  return x;
}

causal_order flip(causal_order x) {
  switch (x) {
    case causal_order::before:
      return causal_order::after;
    case causal_order::after:
      return causal_order::before;
    default:
      return x;
  }
}

// The order two seen-sets stand in: the ground truth for compare().
causal_order set_order(const std::set<int>& a, const std::set<int>& b) {
  bool a_in_b = std::includes(b.begin(), b.end(), a.begin(), a.end());
  bool b_in_a = std::includes(a.begin(), a.end(), b.begin(), b.end());
  if (a_in_b && b_in_a)
    return causal_order::equal;
  if (a_in_b)
    return causal_order::before;
  if (b_in_a)
    return causal_order::after;
  return causal_order::concurrent;
}

vector_clock random_clock(std::mt19937& rng, std::size_t max_nodes,
                          uint64_t max_counter, uint64_t max_ts) {
  std::uniform_int_distribution<std::size_t> n_dist(0, max_nodes);
  std::uniform_int_distribution<uint64_t> c_dist(1, max_counter);
  std::uniform_int_distribution<uint64_t> t_dist(0, max_ts);
  std::bernoulli_distribution present(0.6);
  std::vector<clock_entry> es;
  for (std::size_t i = 0; i < max_nodes; ++i)
    if (present(rng))
      es.push_back(clock_entry{"n" + std::to_string(i), c_dist(rng),
                               t_dist(rng)});
  (void) n_dist;
  std::shuffle(es.begin(), es.end(), rng);
  return vector_clock{std::move(es)};
}

} // namespace

// -----------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(causal_order_names)

BOOST_AUTO_TEST_CASE(to_string_names_every_order) {
  BOOST_TEST(std::string{kv::to_string(causal_order::equal)} == "equal");
  BOOST_TEST(std::string{kv::to_string(causal_order::before)} == "before");
  BOOST_TEST(std::string{kv::to_string(causal_order::after)} == "after");
  BOOST_TEST(std::string{kv::to_string(causal_order::concurrent)}
             == "concurrent");
}

BOOST_AUTO_TEST_SUITE_END()

// -----------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(construction)

BOOST_AUTO_TEST_CASE(default_clock_is_empty) {
  vector_clock c;
  BOOST_TEST(c.empty());
  BOOST_TEST(c.size() == 0u);
  BOOST_TEST(c.counter("n1") == 0u);
  BOOST_TEST(c.to_string() == "{}");
  BOOST_TEST(c.to_token() == "");
  BOOST_TEST(c == vector_clock{});
  BOOST_TEST(c == clk({}));
}

BOOST_AUTO_TEST_CASE(unsorted_entries_are_sorted_by_node) {
  auto c = clk({{"n3", 3, 30}, {"n1", 1, 10}, {"n2", 2, 20}});
  BOOST_TEST(well_formed(c));
  BOOST_TEST(c.size() == 3u);
  std::vector<entry_tuple> want{{"n1", 1, 10}, {"n2", 2, 20}, {"n3", 3, 30}};
  BOOST_TEST(full(c) == want);
  // Order of the input does not matter.
  BOOST_TEST(c == clk({{"n1", 1, 10}, {"n2", 2, 20}, {"n3", 3, 30}}));
  BOOST_TEST(c == clk({{"n2", 2, 20}, {"n3", 3, 30}, {"n1", 1, 10}}));
}

BOOST_AUTO_TEST_CASE(sorting_is_bytewise_on_node_ids) {
  auto c = clk({{"b", 1, 0}, {"B", 1, 0}, {"a10", 1, 0}, {"a2", 1, 0}});
  BOOST_TEST(well_formed(c));
  std::vector<std::string> nodes;
  for (auto& e : c.entries())
    nodes.push_back(e.node);
  std::vector<std::string> want{"B", "a10", "a2", "b"};
  BOOST_TEST(nodes == want);
}

BOOST_AUTO_TEST_CASE(duplicates_keep_the_larger_counter_and_its_timestamp) {
  // Larger counter last.
  auto c1 = clk({{"n1", 2, 100}, {"n1", 5, 7}});
  BOOST_TEST(full(c1) == (std::vector<entry_tuple>{{"n1", 5, 7}}));
  // Larger counter first: the smaller one is ignored entirely.
  auto c2 = clk({{"n1", 5, 7}, {"n1", 2, 100}});
  BOOST_TEST(full(c2) == (std::vector<entry_tuple>{{"n1", 5, 7}}));
  // Equal counters: the later timestamp wins, in either order.
  auto c3 = clk({{"n1", 4, 10}, {"n1", 4, 30}});
  auto c4 = clk({{"n1", 4, 30}, {"n1", 4, 10}});
  BOOST_TEST(full(c3) == (std::vector<entry_tuple>{{"n1", 4, 30}}));
  BOOST_TEST(full(c4) == full(c3));
  // Many duplicates among others.
  auto c5 = clk({{"n2", 1, 1}, {"n1", 3, 3}, {"n2", 9, 9}, {"n1", 1, 100},
                 {"n2", 4, 4}});
  BOOST_TEST(full(c5)
             == (std::vector<entry_tuple>{{"n1", 3, 3}, {"n2", 9, 9}}));
  BOOST_TEST(well_formed(c5));
}

BOOST_AUTO_TEST_CASE(zero_counters_are_dropped) {
  auto c = clk({{"n1", 0, 5}, {"n2", 3, 5}, {"n3", 0, 0}});
  BOOST_TEST(full(c) == (std::vector<entry_tuple>{{"n2", 3, 5}}));
  BOOST_TEST(clk({{"n1", 0, 1}}).empty());
  // A zero duplicate does not disturb a real entry, in either order.
  BOOST_TEST(full(clk({{"n1", 2, 5}, {"n1", 0, 99}}))
             == (std::vector<entry_tuple>{{"n1", 2, 5}}));
  BOOST_TEST(full(clk({{"n1", 0, 99}, {"n1", 2, 5}}))
             == (std::vector<entry_tuple>{{"n1", 2, 5}}));
  // All zero: empty, equal to the default clock.
  BOOST_TEST(clk({{"n1", 0, 1}, {"n2", 0, 2}}) == vector_clock{});
}

BOOST_AUTO_TEST_CASE(counter_and_covers) {
  auto c = clk({{"n1", 3, 0}, {"n3", 1, 0}});
  BOOST_TEST(c.counter("n1") == 3u);
  BOOST_TEST(c.counter("n2") == 0u);
  BOOST_TEST(c.counter("n3") == 1u);
  BOOST_TEST(c.counter("n0") == 0u);
  BOOST_TEST(c.counter("n4") == 0u);
  BOOST_TEST(c.counter("") == 0u);
  BOOST_TEST(c.counter("n") == 0u);  // prefix of a node is not that node
  BOOST_TEST(c.counter("n11") == 0u);
  BOOST_TEST(c.covers(dot{"n1", 1}));
  BOOST_TEST(c.covers(dot{"n1", 3}));
  BOOST_TEST(!c.covers(dot{"n1", 4}));
  BOOST_TEST(!c.covers(dot{"n2", 1}));
  BOOST_TEST(c.covers(dot{"n3", 1}));
  BOOST_TEST(!c.covers(dot{"n3", 2}));
  BOOST_TEST(!vector_clock{}.covers(dot{"n1", 1}));
}

BOOST_AUTO_TEST_CASE(equality_ignores_timestamps_only) {
  BOOST_TEST(clk({{"n1", 1, 5}}) == clk({{"n1", 1, 500}}));
  BOOST_TEST(clk({{"n1", 1, 5}}) != clk({{"n1", 2, 5}}));
  BOOST_TEST(clk({{"n1", 1, 5}}) != clk({{"n2", 1, 5}}));
  BOOST_TEST(clk({{"n1", 1, 5}}) != clk({{"n1", 1, 5}, {"n2", 1, 5}}));
  BOOST_TEST(clk({{"n1", 1, 5}, {"n2", 1, 5}}) != clk({{"n1", 1, 5}}));
  BOOST_TEST(clk({}) != clk({{"n1", 1, 5}}));
}

BOOST_AUTO_TEST_SUITE_END()

// -----------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(compare_and_descends)

BOOST_AUTO_TEST_CASE(empty_clocks) {
  vector_clock e;
  auto one = clk({{"n1", 1, 0}});
  BOOST_TEST(e.compare(e) == causal_order::equal);
  BOOST_TEST(e.compare(one) == causal_order::before);
  BOOST_TEST(one.compare(e) == causal_order::after);
  BOOST_TEST(e.descends(e));
  BOOST_TEST(one.descends(e));
  BOOST_TEST(!e.descends(one));
}

BOOST_AUTO_TEST_CASE(equal_clocks_whatever_the_timestamps) {
  auto a = clk({{"n1", 2, 1}, {"n2", 3, 1}});
  auto b = clk({{"n2", 3, 99}, {"n1", 2, 42}});
  BOOST_TEST(a.compare(b) == causal_order::equal);
  BOOST_TEST(b.compare(a) == causal_order::equal);
  BOOST_TEST(a.descends(b));
  BOOST_TEST(b.descends(a));
  BOOST_TEST(a.compare(a) == causal_order::equal);
}

BOOST_AUTO_TEST_CASE(before_and_after_on_shared_nodes) {
  auto a = clk({{"n1", 1, 0}, {"n2", 1, 0}});
  auto b = clk({{"n1", 2, 0}, {"n2", 1, 0}});
  BOOST_TEST(a.compare(b) == causal_order::before);
  BOOST_TEST(b.compare(a) == causal_order::after);
  BOOST_TEST(b.descends(a));
  BOOST_TEST(!a.descends(b));
  // Every entry larger.
  auto c = clk({{"n1", 5, 0}, {"n2", 5, 0}});
  BOOST_TEST(a.compare(c) == causal_order::before);
  BOOST_TEST(c.compare(a) == causal_order::after);
}

BOOST_AUTO_TEST_CASE(missing_entries_count_as_zero) {
  // b has an extra node: b is after a.
  auto a = clk({{"n1", 2, 0}});
  auto b = clk({{"n1", 2, 0}, {"n2", 1, 0}});
  BOOST_TEST(a.compare(b) == causal_order::before);
  BOOST_TEST(b.compare(a) == causal_order::after);
  // Extra node at the front, middle and end of the sorted order.
  auto mid = clk({{"n1", 1, 0}, {"n3", 1, 0}});
  auto front = clk({{"n0", 1, 0}, {"n1", 1, 0}, {"n3", 1, 0}});
  auto middle = clk({{"n1", 1, 0}, {"n2", 1, 0}, {"n3", 1, 0}});
  auto back = clk({{"n1", 1, 0}, {"n3", 1, 0}, {"n4", 1, 0}});
  for (auto* x : {&front, &middle, &back}) {
    BOOST_TEST(mid.compare(*x) == causal_order::before);
    BOOST_TEST(x->compare(mid) == causal_order::after);
  }
  // a has an extra node but b is ahead elsewhere: concurrent.
  auto c = clk({{"n1", 1, 0}, {"n2", 1, 0}});
  auto d = clk({{"n1", 2, 0}});
  BOOST_TEST(c.compare(d) == causal_order::concurrent);
  BOOST_TEST(d.compare(c) == causal_order::concurrent);
  // Concurrency found only on the last entry of either side.
  auto e = clk({{"n1", 3, 0}, {"n2", 3, 0}});
  auto f = clk({{"n1", 3, 0}, {"n2", 2, 0}, {"n9", 1, 0}});
  BOOST_TEST(e.compare(f) == causal_order::concurrent);
  BOOST_TEST(f.compare(e) == causal_order::concurrent);
}

BOOST_AUTO_TEST_CASE(disjoint_nodes_are_concurrent) {
  auto a = clk({{"n1", 1, 0}});
  auto b = clk({{"n2", 1, 0}});
  BOOST_TEST(a.compare(b) == causal_order::concurrent);
  BOOST_TEST(b.compare(a) == causal_order::concurrent);
  BOOST_TEST(!a.descends(b));
  BOOST_TEST(!b.descends(a));
  auto c = clk({{"a", 5, 0}, {"c", 5, 0}});
  auto d = clk({{"b", 1, 0}, {"d", 1, 0}});
  BOOST_TEST(c.compare(d) == causal_order::concurrent);
  BOOST_TEST(d.compare(c) == causal_order::concurrent);
}

BOOST_AUTO_TEST_CASE(crossed_counters_are_concurrent) {
  auto a = clk({{"n1", 2, 0}, {"n2", 1, 0}});
  auto b = clk({{"n1", 1, 0}, {"n2", 2, 0}});
  BOOST_TEST(a.compare(b) == causal_order::concurrent);
  BOOST_TEST(b.compare(a) == causal_order::concurrent);
}

BOOST_AUTO_TEST_CASE(compare_is_antisymmetric_and_descends_agrees_random) {
  std::mt19937 rng{20240601};
  for (int i = 0; i < 3000; ++i) {
    auto a = random_clock(rng, 5, 3, 100);
    auto b = random_clock(rng, 5, 3, 100);
    auto ab = a.compare(b);
    auto ba = b.compare(a);
    BOOST_TEST(ba == flip(ab));
    BOOST_TEST(a.descends(b)
               == (ab == causal_order::after || ab == causal_order::equal));
    BOOST_TEST((ab == causal_order::equal) == (a == b));
    // Reference: pointwise comparison over the union of nodes.
    std::set<std::string> nodes;
    for (auto& e : a.entries())
      nodes.insert(e.node);
    for (auto& e : b.entries())
      nodes.insert(e.node);
    bool a_ge = true, b_ge = true;
    for (auto& n : nodes) {
      a_ge = a_ge && a.counter(n) >= b.counter(n);
      b_ge = b_ge && b.counter(n) >= a.counter(n);
    }
    auto want = a_ge && b_ge ? causal_order::equal
                : a_ge       ? causal_order::after
                : b_ge       ? causal_order::before
                             : causal_order::concurrent;
    BOOST_TEST(ab == want);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// -----------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(merge)

BOOST_AUTO_TEST_CASE(pointwise_maximum) {
  auto a = clk({{"n1", 3, 30}, {"n2", 1, 10}});
  auto b = clk({{"n2", 4, 40}, {"n3", 2, 20}});
  auto m = merged(a, b);
  BOOST_TEST(well_formed(m));
  BOOST_TEST(full(m)
             == (std::vector<entry_tuple>{
               {"n1", 3, 30}, {"n2", 4, 40}, {"n3", 2, 20}}));
  BOOST_TEST(m.descends(a));
  BOOST_TEST(m.descends(b));
}

BOOST_AUTO_TEST_CASE(with_empty_clock) {
  auto a = clk({{"n1", 3, 30}});
  BOOST_TEST(same_with_timestamps(merged(a, vector_clock{}), a));
  BOOST_TEST(same_with_timestamps(merged(vector_clock{}, a), a));
  BOOST_TEST(merged(vector_clock{}, vector_clock{}).empty());
}

BOOST_AUTO_TEST_CASE(timestamp_follows_the_larger_counter) {
  // The larger counter carries an older timestamp: its timestamp still wins.
  auto a = clk({{"n1", 5, 10}});
  auto b = clk({{"n1", 3, 1000}});
  BOOST_TEST(full(merged(a, b)) == (std::vector<entry_tuple>{{"n1", 5, 10}}));
  BOOST_TEST(full(merged(b, a)) == (std::vector<entry_tuple>{{"n1", 5, 10}}));
  // Equal counters: the later timestamp, whichever side it is on.
  auto c = clk({{"n1", 5, 10}});
  auto d = clk({{"n1", 5, 20}});
  BOOST_TEST(full(merged(c, d)) == (std::vector<entry_tuple>{{"n1", 5, 20}}));
  BOOST_TEST(full(merged(d, c)) == (std::vector<entry_tuple>{{"n1", 5, 20}}));
}

BOOST_AUTO_TEST_CASE(self_merge_is_identity) {
  auto a = clk({{"n1", 3, 30}, {"n2", 1, 10}});
  auto m = a;
  m.merge(m);
  BOOST_TEST(same_with_timestamps(m, a));
}

BOOST_AUTO_TEST_CASE(algebraic_laws_random_including_timestamps) {
  std::mt19937 rng{7};
  for (int i = 0; i < 2000; ++i) {
    auto a = random_clock(rng, 6, 4, 50);
    auto b = random_clock(rng, 6, 4, 50);
    auto c = random_clock(rng, 6, 4, 50);
    auto ab = merged(a, b);
    // Commutative (timestamps included).
    BOOST_TEST(same_with_timestamps(ab, merged(b, a)));
    // Associative.
    BOOST_TEST(same_with_timestamps(merged(ab, c), merged(a, merged(b, c))));
    // Idempotent.
    BOOST_TEST(same_with_timestamps(merged(a, a), a));
    BOOST_TEST(same_with_timestamps(merged(ab, b), ab));
    // Least upper bound: descends both, and is below anything that does.
    BOOST_TEST(ab.descends(a));
    BOOST_TEST(ab.descends(b));
    BOOST_TEST(well_formed(ab));
    if (c.descends(a) && c.descends(b))
      BOOST_TEST(c.descends(ab));
    // Pointwise maximum.
    for (int n = 0; n < 6; ++n) {
      auto node = "n" + std::to_string(n);
      BOOST_TEST(ab.counter(node)
                 == std::max(a.counter(node), b.counter(node)));
    }
    // Merging something one already descends changes nothing.
    if (a.descends(b))
      BOOST_TEST(ab == a);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// -----------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(increment_and_advance)

BOOST_AUTO_TEST_CASE(increment_from_empty) {
  vector_clock c;
  auto d = c.increment("n1", 100);
  BOOST_TEST(d == (dot{"n1", 1}));
  BOOST_TEST(full(c) == (std::vector<entry_tuple>{{"n1", 1, 100}}));
  BOOST_TEST(c.covers(d));
}

BOOST_AUTO_TEST_CASE(increment_bumps_only_its_node_and_stamps_it) {
  auto c = clk({{"n1", 3, 10}, {"n2", 7, 20}});
  auto before = c;
  auto d = c.increment("n1", 50);
  BOOST_TEST(d == (dot{"n1", 4}));
  BOOST_TEST(full(c)
             == (std::vector<entry_tuple>{{"n1", 4, 50}, {"n2", 7, 20}}));
  BOOST_TEST(c.compare(before) == causal_order::after);
  // A new node is inserted in sorted position.
  auto d2 = c.increment("n15", 60);
  BOOST_TEST(d2 == (dot{"n15", 1}));
  BOOST_TEST(well_formed(c));
  BOOST_TEST(c.size() == 3u);
  // Successive increments give successive, distinct dots.
  auto d3 = c.increment("n1", 70);
  auto d4 = c.increment("n1", 70);
  BOOST_TEST(d3 == (dot{"n1", 5}));
  BOOST_TEST(d4 == (dot{"n1", 6}));
  BOOST_TEST(d3 != d4);
}

BOOST_AUTO_TEST_CASE(increment_ignores_an_older_wall_clock_for_the_counter) {
  // The counter grows even if the wall clock went backwards; the entry's
  // timestamp is the time of the increment as given.
  auto c = clk({{"n1", 3, 1000}});
  auto d = c.increment("n1", 5);
  BOOST_TEST(d.counter == 4u);
  BOOST_TEST(full(c) == (std::vector<entry_tuple>{{"n1", 4, 5}}));
}

// Regression for bug D (counter wrap-around): a client-supplied context with
// counter UINT64_MAX used to make the next dot wrap to 0, which every clock
// covers. Counters at or above max_clock_counter are now refused where
// clocks enter the system (from_token, context_problem: see text_forms and
// request_validation), so the largest counter a clock can be incremented
// from is max_clock_counter - 1, and that increment does not wrap.
BOOST_AUTO_TEST_CASE(increment_from_the_largest_accepted_counter_does_not_wrap) {
  BOOST_TEST(kv::max_clock_counter == (uint64_t{1} << 62));
  auto c = clk({{"n1", largest_ok, 10}});
  auto d = c.increment("n1", 20);
  BOOST_TEST(d == (dot{"n1", kv::max_clock_counter}));
  BOOST_TEST(d.counter != 0u);
  BOOST_TEST(!vector_clock{}.covers(d));
  BOOST_TEST(!clk({{"n1", largest_ok, 0}}).covers(d));
  BOOST_TEST(c.covers(d));
  // Even from there the counter is far from wrapping: 3 * 2^62 more writes.
  auto d2 = c.increment("n1", 30);
  BOOST_TEST(d2.counter == kv::max_clock_counter + 1);
  BOOST_TEST(c.max_counter() == kv::max_clock_counter + 1);
}

BOOST_AUTO_TEST_CASE(advance_raises_but_never_lowers) {
  auto c = clk({{"n1", 5, 50}});
  c.advance("n1", 3, 999); // lower: ignored entirely, timestamp too
  BOOST_TEST(full(c) == (std::vector<entry_tuple>{{"n1", 5, 50}}));
  c.advance("n1", 5, 40); // equal, older time: keeps the later timestamp
  BOOST_TEST(full(c) == (std::vector<entry_tuple>{{"n1", 5, 50}}));
  c.advance("n1", 5, 60); // equal, later time: timestamp moves forward
  BOOST_TEST(full(c) == (std::vector<entry_tuple>{{"n1", 5, 60}}));
  c.advance("n1", 8, 1); // higher: counter and timestamp replaced
  BOOST_TEST(full(c) == (std::vector<entry_tuple>{{"n1", 8, 1}}));
  c.advance("n1", 0, 1000); // zero: no-op
  BOOST_TEST(full(c) == (std::vector<entry_tuple>{{"n1", 8, 1}}));
}

BOOST_AUTO_TEST_CASE(advance_inserts_new_nodes_in_order_and_skips_zero) {
  vector_clock c;
  c.advance("n2", 0, 5);
  BOOST_TEST(c.empty());
  c.advance("n2", 2, 5);
  c.advance("n0", 1, 6);
  c.advance("n1", 7, 7);
  c.advance("n3", u64_max, 8);
  BOOST_TEST(well_formed(c));
  BOOST_TEST(full(c)
             == (std::vector<entry_tuple>{{"n0", 1, 6},
                                          {"n1", 7, 7},
                                          {"n2", 2, 5},
                                          {"n3", u64_max, 8}}));
}

BOOST_AUTO_TEST_CASE(advance_and_increment_never_go_backwards_random) {
  std::mt19937 rng{99};
  std::uniform_int_distribution<int> node(0, 4);
  std::uniform_int_distribution<uint64_t> cnt(0, 20);
  std::uniform_int_distribution<uint64_t> ts(0, 1000);
  std::bernoulli_distribution inc(0.3);
  vector_clock c;
  for (int i = 0; i < 5000; ++i) {
    auto before = c;
    auto n = "n" + std::to_string(node(rng));
    if (inc(rng)) {
      auto d = c.increment(n, ts(rng));
      BOOST_TEST(d.counter == before.counter(n) + 1);
      BOOST_TEST(c.compare(before) == causal_order::after);
    } else {
      auto k = cnt(rng);
      c.advance(n, k, ts(rng));
      BOOST_TEST(c.counter(n) == std::max(before.counter(n), k));
      BOOST_TEST(c.descends(before));
    }
    BOOST_TEST(well_formed(c));
  }
}

BOOST_AUTO_TEST_SUITE_END()

// -----------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(prune)

BOOST_AUTO_TEST_CASE(nothing_to_do_at_or_below_the_maximum) {
  auto c = clk({{"a", 1, 5}, {"b", 1, 1}});
  auto before = c;
  BOOST_TEST(c.prune(2) == 0u);
  BOOST_TEST(c.prune(10) == 0u);
  BOOST_TEST(same_with_timestamps(c, before));
  vector_clock e;
  BOOST_TEST(e.prune(0) == 0u);
  BOOST_TEST(e.empty());
}

BOOST_AUTO_TEST_CASE(drops_oldest_timestamps_first) {
  auto c = clk({{"a", 1, 50}, {"b", 9, 10}, {"c", 1, 30}, {"d", 1, 20}});
  BOOST_TEST(c.prune(2) == 2u);
  // b (t=10) and d (t=20) go; counters play no part (b has the largest).
  BOOST_TEST(full(c)
             == (std::vector<entry_tuple>{{"a", 1, 50}, {"c", 1, 30}}));
  BOOST_TEST(c.prune(1) == 1u);
  BOOST_TEST(full(c) == (std::vector<entry_tuple>{{"a", 1, 50}}));
  BOOST_TEST(c.prune(0) == 1u);
  BOOST_TEST(c.empty());
}

BOOST_AUTO_TEST_CASE(ties_break_on_the_smaller_node_id) {
  auto c = clk({{"z", 1, 5}, {"x", 1, 5}, {"y", 1, 5}});
  BOOST_TEST(c.prune(2) == 1u);
  BOOST_TEST(full(c) == (std::vector<entry_tuple>{{"y", 1, 5}, {"z", 1, 5}}));
  BOOST_TEST(c.prune(1) == 1u);
  BOOST_TEST(full(c) == (std::vector<entry_tuple>{{"z", 1, 5}}));
  // A tie among the oldest only.
  auto d = clk({{"m", 1, 1}, {"k", 1, 1}, {"a", 1, 9}});
  BOOST_TEST(d.prune(2) == 1u);
  BOOST_TEST(full(d) == (std::vector<entry_tuple>{{"a", 1, 9}, {"m", 1, 1}}));
}

BOOST_AUTO_TEST_CASE(never_drops_keep) {
  auto c = clk({{"a", 1, 1}, {"b", 1, 2}, {"c", 1, 3}});
  // "a" is the oldest but is kept; the next oldest go.
  BOOST_TEST(c.prune(2, "a") == 1u);
  BOOST_TEST(full(c) == (std::vector<entry_tuple>{{"a", 1, 1}, {"c", 1, 3}}));
  BOOST_TEST(c.prune(1, "a") == 1u);
  BOOST_TEST(full(c) == (std::vector<entry_tuple>{{"a", 1, 1}}));
  // Even a maximum of 0 cannot remove `keep`.
  BOOST_TEST(c.prune(0, "a") == 0u);
  BOOST_TEST(full(c) == (std::vector<entry_tuple>{{"a", 1, 1}}));
  // ... but removes everything else.
  auto d = clk({{"a", 1, 1}, {"b", 1, 2}, {"c", 1, 3}});
  BOOST_TEST(d.prune(0, "b") == 2u);
  BOOST_TEST(full(d) == (std::vector<entry_tuple>{{"b", 1, 2}}));
}

BOOST_AUTO_TEST_CASE(keep_absent_from_the_clock_changes_nothing) {
  auto c = clk({{"a", 1, 1}, {"b", 1, 2}, {"c", 1, 3}});
  auto d = c;
  BOOST_TEST(c.prune(1, "zz") == 2u);
  BOOST_TEST(d.prune(1) == 2u);
  BOOST_TEST(same_with_timestamps(c, d));
  BOOST_TEST(full(c) == (std::vector<entry_tuple>{{"c", 1, 3}}));
}

BOOST_AUTO_TEST_CASE(never_drops_any_node_of_a_keep_list) {
  using keep_list = std::vector<std::string_view>;
  auto base = clk({{"a", 1, 1}, {"b", 2, 2}, {"c", 3, 3}, {"d", 4, 4},
                   {"e", 5, 5}});
  // a and b are the oldest but kept; c and d go.
  auto c = base;
  BOOST_TEST(c.prune(3, keep_list{"a", "b"}) == 2u);
  BOOST_TEST(full(c)
             == (std::vector<entry_tuple>{{"a", 1, 1}, {"b", 2, 2},
                                          {"e", 5, 5}}));
  // More kept nodes than the maximum: all of them stay, the rest goes, and
  // the clock is left above the maximum (documented: "so more may remain").
  auto d = base;
  BOOST_TEST(d.prune(2, keep_list{"e", "a", "c"}) == 2u);
  BOOST_TEST(d.size() == 3u);
  BOOST_TEST(full(d)
             == (std::vector<entry_tuple>{{"a", 1, 1}, {"c", 3, 3},
                                          {"e", 5, 5}}));
  auto z = base;
  BOOST_TEST(z.prune(0, keep_list{"b", "d"}) == 3u);
  BOOST_TEST(full(z)
             == (std::vector<entry_tuple>{{"b", 2, 2}, {"d", 4, 4}}));
  // Every node kept: nothing to drop, whatever the maximum.
  auto all = base;
  BOOST_TEST(all.prune(0, keep_list{"a", "b", "c", "d", "e"}) == 0u);
  BOOST_TEST(same_with_timestamps(all, base));
  // Duplicates and absent nodes in the list change nothing.
  auto dup = base;
  BOOST_TEST(dup.prune(3, keep_list{"b", "zz", "a", "b", "", "a"}) == 2u);
  BOOST_TEST(same_with_timestamps(dup, c));
  // An empty list is the same as no keep at all.
  auto none = base;
  auto plain = base;
  BOOST_TEST(none.prune(2, keep_list{}) == 3u);
  BOOST_TEST(plain.prune(2) == 3u);
  BOOST_TEST(same_with_timestamps(none, plain));
  BOOST_TEST(full(none)
             == (std::vector<entry_tuple>{{"d", 4, 4}, {"e", 5, 5}}));
}

BOOST_AUTO_TEST_CASE(single_keep_overload_agrees_with_a_one_element_list) {
  std::mt19937 rng{777};
  std::uniform_int_distribution<std::size_t> maxd(0, 6);
  std::uniform_int_distribution<int> keepd(0, 7);
  for (int i = 0; i < 500; ++i) {
    auto c = random_clock(rng, 8, 5, 4);
    auto max_entries = maxd(rng);
    auto keep = "n" + std::to_string(keepd(rng));
    auto x = c;
    auto y = c;
    BOOST_TEST(x.prune(max_entries, keep)
               == y.prune(max_entries, std::vector<std::string_view>{keep}));
    BOOST_TEST(same_with_timestamps(x, y));
  }
}

BOOST_AUTO_TEST_CASE(pruning_is_deterministic_and_order_independent_random) {
  std::mt19937 rng{4242};
  std::uniform_int_distribution<std::size_t> maxd(0, 8);
  std::uniform_int_distribution<int> keepd(-1, 9);
  for (int i = 0; i < 2000; ++i) {
    // Narrow timestamp range: many ties.
    auto c = random_clock(rng, 10, 5, 3);
    auto max_entries = maxd(rng);
    auto k = keepd(rng);
    std::string keep = k < 0 ? std::string{} : "n" + std::to_string(k);
    bool has_keep = !keep.empty() && c.counter(keep) > 0;

    // The same entries built in another order prune the same way.
    auto shuffled_entries = c.entries();
    std::shuffle(shuffled_entries.begin(), shuffled_entries.end(), rng);
    vector_clock c2{shuffled_entries};

    auto orig = c;
    auto removed = c.prune(max_entries, keep);
    auto removed2 = c2.prune(max_entries, keep);
    BOOST_TEST(removed == removed2);
    BOOST_TEST(same_with_timestamps(c, c2));
    BOOST_TEST(well_formed(c));

    // Size: at most max, except that `keep` alone may remain at max 0.
    std::size_t want_size = std::min(orig.size(), max_entries);
    if (has_keep && max_entries == 0)
      want_size = 1;
    BOOST_TEST(c.max_counter() <= orig.max_counter());
    BOOST_TEST(c.size() == want_size);
    BOOST_TEST(removed == orig.size() - c.size());
    if (has_keep)
      BOOST_TEST(c.counter(keep) == orig.counter(keep));

    // Survivors are unchanged, and every dropped entry is older (by
    // (timestamp, node)) than every surviving entry other than `keep`.
    std::vector<std::pair<uint64_t, std::string>> dropped, kept;
    for (auto& e : orig.entries()) {
      if (c.counter(e.node) == 0) {
        dropped.emplace_back(e.timestamp_ms, e.node);
      } else {
        BOOST_TEST(c.counter(e.node) == e.counter);
        if (e.node != keep)
          kept.emplace_back(e.timestamp_ms, e.node);
      }
    }
    for (auto& d : dropped) {
      BOOST_TEST(d.second != keep);
      for (auto& s : kept)
        BOOST_TEST((d < s));
    }
    // A pruned clock never claims more history than the original.
    BOOST_TEST(orig.descends(c));
  }
}

// The documented rule for a keep list: entries of kept nodes all survive;
// other entries are dropped oldest first until at most `max` entries remain
// or only kept ones are left. So the result has
// min(size, max(max, kept entries present)) entries.
BOOST_AUTO_TEST_CASE(pruning_with_keep_lists_random) {
  std::mt19937 rng{5150};
  std::uniform_int_distribution<std::size_t> maxd(0, 8);
  std::uniform_int_distribution<int> nkeep(0, 6);
  std::uniform_int_distribution<int> keepd(0, 11); // some absent nodes
  for (int i = 0; i < 2000; ++i) {
    auto c = random_clock(rng, 10, 5, 3);
    auto max_entries = maxd(rng);
    std::vector<std::string> keep_names;
    for (int k = nkeep(rng); k > 0; --k)
      keep_names.push_back("n" + std::to_string(keepd(rng)));
    std::vector<std::string_view> keep(keep_names.begin(), keep_names.end());
    auto is_kept = [&](const std::string& node) {
      return std::find(keep_names.begin(), keep_names.end(), node)
             != keep_names.end();
    };
    std::size_t kept_present = 0;
    for (auto& e : c.entries())
      kept_present += is_kept(e.node) ? 1 : 0;

    auto shuffled_keep = keep;
    std::shuffle(shuffled_keep.begin(), shuffled_keep.end(), rng);
    auto c2 = c;
    auto orig = c;
    auto removed = c.prune(max_entries, keep);
    BOOST_TEST_CONTEXT("clock " << orig.to_token() << " max " << max_entries
                                << " keep " << keep_names.size()) {
      // The order of the keep list does not matter.
      BOOST_TEST(c2.prune(max_entries, shuffled_keep) == removed);
      BOOST_TEST(same_with_timestamps(c, c2));
      BOOST_TEST(well_formed(c));
      BOOST_TEST(c.size()
                 == std::min(orig.size(), std::max(max_entries, kept_present)));
      BOOST_TEST(removed == orig.size() - c.size());
      // It exceeds the maximum only by kept entries.
      if (c.size() > max_entries)
        for (auto& e : c.entries())
          BOOST_TEST(is_kept(e.node));
      std::vector<std::pair<uint64_t, std::string>> dropped, survivors;
      for (auto& e : orig.entries()) {
        if (is_kept(e.node)) {
          BOOST_TEST(c.counter(e.node) == e.counter); // never dropped
        } else if (c.counter(e.node) == 0) {
          dropped.emplace_back(e.timestamp_ms, e.node);
        } else {
          BOOST_TEST(c.counter(e.node) == e.counter);
          survivors.emplace_back(e.timestamp_ms, e.node);
        }
      }
      for (auto& d : dropped)
        for (auto& s : survivors)
          BOOST_TEST((d < s)); // oldest first, ties on the node id
      BOOST_TEST(orig.descends(c));
    }
  }
}


// The pruning rule as first written: drop the single oldest non-kept entry
// (by timestamp, then node id) until the clock is small enough. Quadratic, so
// only for small clocks; the real prune must agree with it exactly.
std::size_t reference_prune(std::vector<clock_entry>& entries,
                            std::size_t max_entries,
                            const std::vector<std::string_view>& keep) {
  std::size_t removed = 0;
  while (entries.size() > max_entries) {
    auto oldest = entries.end();
    for (auto i = entries.begin(); i != entries.end(); ++i) {
      if (std::find(keep.begin(), keep.end(), i->node) != keep.end())
        continue;
      if (oldest == entries.end() || i->timestamp_ms < oldest->timestamp_ms
          || (i->timestamp_ms == oldest->timestamp_ms && i->node < oldest->node))
        oldest = i;
    }
    if (oldest == entries.end())
      break;
    entries.erase(oldest);
    ++removed;
  }
  return removed;
}

BOOST_AUTO_TEST_CASE(prune_agrees_with_the_reference_rule_random) {
  std::mt19937 rng{20261201};
  std::uniform_int_distribution<int> nodes_d(0, 60);
  std::uniform_int_distribution<uint64_t> ts_spread(0, 40);
  std::uniform_int_distribution<int> keep_d(0, 8);
  for (int i = 0; i < 3000; ++i) {
    auto nodes = static_cast<std::size_t>(nodes_d(rng));
    // Narrow spreads give many timestamp ties, wide ones almost none.
    auto c = random_clock(rng, nodes, 5, ts_spread(rng));
    std::uniform_int_distribution<std::size_t> max_d(0, nodes + 2);
    auto max_entries = max_d(rng);
    std::vector<std::string> keep_names;
    for (int k = keep_d(rng); k > 0; --k)
      keep_names.push_back("n" + std::to_string(rng() % (nodes + 3)));
    std::vector<std::string_view> keep(keep_names.begin(), keep_names.end());
    auto expected = c.entries();
    auto expected_removed = reference_prune(expected, max_entries, keep);
    auto before = c.to_token();
    auto removed = c.prune(max_entries, keep);
    BOOST_TEST_CONTEXT("clock " << before << " max " << max_entries) {
      BOOST_TEST(removed == expected_removed);
      BOOST_TEST(same_with_timestamps(c, vector_clock{expected}));
      BOOST_TEST(well_formed(c));
    }
  }
}

// Pruning was quadratic (26 s for 60,000 entries); a clock this size from a
// misbehaving peer must not stall a replica.
BOOST_AUTO_TEST_CASE(prune_handles_a_hundred_thousand_entries) {
  constexpr std::size_t n = 100000;
  std::mt19937 rng{99};
  std::vector<clock_entry> es;
  for (std::size_t i = 0; i < n; ++i)
    es.push_back(clock_entry{"n" + std::to_string(i), 1 + rng() % 9,
                             rng() % 1000});
  vector_clock c{es};
  BOOST_REQUIRE(c.size() == n);
  std::string keep = "n0";
  auto removed = c.prune(10, keep);
  BOOST_TEST(removed == n - 10);
  BOOST_TEST(c.size() == 10u);
  BOOST_TEST(c.counter(keep) == vector_clock{es}.counter(keep));
  // The survivors are the 9 newest other entries: nothing dropped is newer.
  std::vector<std::pair<uint64_t, std::string>> order;
  for (auto& e : es)
    if (e.node != keep)
      order.emplace_back(e.timestamp_ms, e.node);
  std::sort(order.begin(), order.end());
  for (std::size_t i = order.size() - 9; i < order.size(); ++i)
    BOOST_TEST(c.counter(order[i].second) > 0u, order[i].second);
}

BOOST_AUTO_TEST_SUITE_END()

// -----------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(max_counter)

BOOST_AUTO_TEST_CASE(largest_counter_of_any_entry) {
  BOOST_TEST(vector_clock{}.max_counter() == 0u);
  BOOST_TEST(clk({{"n1", 3, 0}}).max_counter() == 3u);
  // Not the counter of the first, last or youngest entry.
  BOOST_TEST(clk({{"a", 2, 99}, {"b", 9, 1}, {"c", 4, 50}}).max_counter()
             == 9u);
  BOOST_TEST(clk({{"a", u64_max, 0}, {"b", 1, 0}}).max_counter() == u64_max);
  auto c = clk({{"a", 2, 99}, {"b", 9, 1}});
  c.prune(1); // b (older) goes
  BOOST_TEST(c.max_counter() == 2u);
}

BOOST_AUTO_TEST_CASE(agrees_with_the_entries_random) {
  std::mt19937 rng{60};
  for (int i = 0; i < 500; ++i) {
    auto c = random_clock(rng, 6, 1000, 10);
    uint64_t want = 0;
    for (auto& e : c.entries())
      want = std::max(want, e.counter);
    BOOST_TEST(c.max_counter() == want);
    auto m = merged(c, random_clock(rng, 6, 1000, 10));
    BOOST_TEST(m.max_counter() >= c.max_counter());
  }
}

BOOST_AUTO_TEST_SUITE_END()

// -----------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(text_forms)

BOOST_AUTO_TEST_CASE(to_string_format) {
  BOOST_TEST(vector_clock{}.to_string() == "{}");
  BOOST_TEST(clk({{"n1", 3, 77}}).to_string() == "{n1:3}");
  BOOST_TEST(clk({{"n2", 1, 5}, {"n1", 3, 9}}).to_string() == "{n1:3, n2:1}");
  BOOST_TEST(clk({{"n1", u64_max, 0}}).to_string()
             == "{n1:18446744073709551615}");
}

BOOST_AUTO_TEST_CASE(to_token_format) {
  BOOST_TEST(vector_clock{}.to_token() == "");
  BOOST_TEST(clk({{"n2", 1, 0}, {"n1", 3, 1700000000000}}).to_token()
             == "n1:3@1700000000000,n2:1@0");
}

BOOST_AUTO_TEST_CASE(token_round_trip_keeps_timestamps) {
  std::vector<vector_clock> cases{
    vector_clock{},
    clk({{"n1", 1, 0}}),
    clk({{"n1", 3, 1700000000000}, {"n2", 1, 0}}),
    clk({{"A", largest_ok, u64_max}, {"node-1.example_x", 42, 123}}),
    clk({{std::string(64, 'z'), 7, 8}}),
  };
  for (auto& c : cases) {
    auto back = vector_clock::from_token(c.to_token());
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(same_with_timestamps(*back, c));
    BOOST_TEST(back->to_token() == c.to_token());
  }
}

BOOST_AUTO_TEST_CASE(token_round_trip_random) {
  std::mt19937 rng{31337};
  std::uniform_int_distribution<uint64_t> big(1, largest_ok);
  std::uniform_int_distribution<uint64_t> big_ts(0, u64_max);
  for (int i = 0; i < 1000; ++i) {
    auto c = random_clock(rng, 8, 1000, 2000000000000ull);
    if (i % 10 == 0)
      c.advance("n0", big(rng), big_ts(rng));
    auto back = vector_clock::from_token(c.to_token());
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(same_with_timestamps(*back, c));
  }
}

BOOST_AUTO_TEST_CASE(from_token_accepts_unsorted_entries_and_normalises) {
  auto c = vector_clock::from_token("n2:1@5,n1:3@9");
  BOOST_TEST_REQUIRE(c.has_value());
  BOOST_TEST(full(*c) == (std::vector<entry_tuple>{{"n1", 3, 9}, {"n2", 1, 5}}));
  BOOST_TEST(well_formed(*c));
}

// The largest counter is max_clock_counter - 1 (bug D); timestamps are not
// limited.
BOOST_AUTO_TEST_CASE(from_token_accepts_the_largest_values) {
  auto c = vector_clock::from_token(
    "n1:4611686018427387903@18446744073709551615");
  BOOST_TEST_REQUIRE(c.has_value());
  BOOST_TEST(c->counter("n1") == largest_ok);
  BOOST_TEST(c->entries().front().timestamp_ms == u64_max);
  BOOST_TEST(std::to_string(largest_ok) == "4611686018427387903");
  // Leading zeros are digits like any other.
  auto z = vector_clock::from_token("n1:0004611686018427387903@0");
  BOOST_TEST_REQUIRE(z.has_value());
  BOOST_TEST(z->counter("n1") == largest_ok);
}

// Regression for bug D: counters at or above max_clock_counter used to be
// accepted (up to UINT64_MAX, from which the next dot wrapped to 0).
BOOST_AUTO_TEST_CASE(from_token_rejects_counters_from_max_clock_counter_up) {
  BOOST_TEST(std::to_string(too_big) == "4611686018427387904");
  const std::string rejected[] = {
    "n1:4611686018427387904@0",  // 2^62
    "n1:4611686018427387905@0",
    "n1:9223372036854775808@0",  // 2^63
    "n1:18446744073709551615@0", // UINT64_MAX
    "n1:18446744073709551615@18446744073709551615",
    "n1:04611686018427387904@0",
    // One bad entry spoils the token, wherever it is.
    "n1:1@0,n2:4611686018427387904@0",
    "n2:4611686018427387904@0,n1:1@0",
    "a:1@0,n2:18446744073709551615@5,z:3@0",
  };
  for (auto& t : rejected) {
    BOOST_TEST_CONTEXT("token \"" << t << "\"") {
      BOOST_TEST(!vector_clock::from_token(t).has_value());
    }
  }
  // A clock holding such a counter still prints a token, which is refused.
  auto c = clk({{"n1", too_big, 0}});
  BOOST_TEST(!vector_clock::from_token(c.to_token()).has_value());
  BOOST_TEST(vector_clock::from_token(clk({{"n1", largest_ok, 0}}).to_token())
               .has_value());
}

BOOST_AUTO_TEST_CASE(from_token_rejects_malformed_tokens) {
  const std::string long_node(65, 'a');
  const char* bad[] = {
    // missing parts
    "n1", "n1:1", "n1@5", "n1:@5", "n1:1@", ":1@0", "@", ":", ":@", "n1:@",
    // order of the separators
    "n1@1:1", "n1@5:", // '@' before ':'
    // empty items
    ",", ",n1:1@0", "n1:1@0,,n2:1@0",
    // zero counter
    "n1:0@5", "n1:00@5", "n1:1@0,n2:0@0",
    // non-digits and signs
    "n1:x@0", "n1:1@x", "n1:1a@0", "n1:1@0a", "n1:-1@0", "n1:1@-1",
    "n1:+1@0", "n1:1@+0", "n1: 1@0", "n1:1 @0", "n1:1@ 0", "n1:1@0 ",
    " n1:1@0", "n1:0x10@0", "n1:1.5@0", "n1:1e3@0",
    // extra separators
    "n1:1:2@0", "n1:1@2@3", "n1:1@0:5",
    // duplicates (in any position, equal or not)
    "n1:1@0,n1:2@0", "n1:2@0,n1:2@0", "n1:1@0,n2:1@0,n1:1@0",
    // bad node ids
    "n 1:1@0", "n/x:1@0", "/1:1@0", "n/:1@0", "n/1/2:1@0", "n#1:1@0",
    "n\xc3\xa9:1@0",
    // overflow
    "n1:18446744073709551616@0", "n1:1@18446744073709551616",
    "n1:99999999999999999999999@0", "n1:1@99999999999999999999999",
  };
  for (const char* t : bad) {
    BOOST_TEST_CONTEXT("token \"" << t << "\"") {
      BOOST_TEST(!vector_clock::from_token(t).has_value());
    }
  }
  BOOST_TEST(!vector_clock::from_token(long_node + ":1@0").has_value());
  BOOST_TEST(vector_clock::from_token(std::string(64, 'a') + ":1@0")
               .has_value());
  // An embedded NUL in the node id.
  BOOST_TEST(
    !vector_clock::from_token(std::string_view{"n\0:1@0", 6}).has_value());
}

// Regression: a trailing comma is an empty last item, malformed like
// ",n1:1@0" and "a,,b"; from_token used to accept it.
BOOST_AUTO_TEST_CASE(from_token_rejects_a_trailing_comma) {
  for (const char* t : {"n1:1@0,", "n1:1@0,n2:1@0,", "n1:1@0,,", ","}) {
    BOOST_TEST_CONTEXT("token \"" << t << "\"") {
      BOOST_TEST(!vector_clock::from_token(t).has_value());
    }
  }
  // Without it the same tokens are fine.
  BOOST_TEST(vector_clock::from_token("n1:1@0").has_value());
  BOOST_TEST(vector_clock::from_token("n1:1@0,n2:1@0").has_value());
  // The empty token is the empty clock (what to_token gives for it).
  auto e = vector_clock::from_token("");
  BOOST_TEST_REQUIRE(e.has_value());
  BOOST_TEST(e->empty());
}

BOOST_AUTO_TEST_SUITE_END()

// -----------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(node_ids)

BOOST_AUTO_TEST_CASE(valid_node_ids) {
  BOOST_TEST(kv::valid_node_id("a"));
  BOOST_TEST(kv::valid_node_id("n1"));
  BOOST_TEST(kv::valid_node_id("Node_1-a.b"));
  BOOST_TEST(kv::valid_node_id("0"));
  BOOST_TEST(kv::valid_node_id("..."));
  BOOST_TEST(kv::valid_node_id("-"));
  BOOST_TEST(kv::valid_node_id(
    std::string{"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."}
      .substr(0, 64)));
  BOOST_TEST(!kv::valid_node_id(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")); // 65
  BOOST_TEST(kv::valid_node_id(std::string(64, 'x')));
}

BOOST_AUTO_TEST_CASE(invalid_node_ids) {
  BOOST_TEST(!kv::valid_node_id(""));
  BOOST_TEST(!kv::valid_node_id(std::string(65, 'x')));
  for (const char* id : {"a b", "a:b", "a@b", "a,b", "a/b", "a\\b", "a\tb",
                         "a\nb", "a{b", "a}b", "a+b", "a=b", "n\xc3\xa9"}) {
    BOOST_TEST_CONTEXT("id \"" << id << "\"") {
      BOOST_TEST(!kv::valid_node_id(id));
    }
  }
  BOOST_TEST(!kv::valid_node_id(std::string_view{"a\0b", 3}));
}

BOOST_AUTO_TEST_SUITE_END()

// -----------------------------------------------------------------------------
// Property test: random histories of K processes. Each process keeps a vector
// clock and, separately, the set of event ids it has seen (its causal past).
// compare() must agree with set inclusion of the causal pasts.
BOOST_AUTO_TEST_SUITE(random_histories)

namespace {

struct snapshot {
  vector_clock clock;
  std::set<int> seen;
};

std::vector<snapshot> simulate(uint32_t seed, int nodes, int steps) {
  std::mt19937 rng{seed};
  std::uniform_int_distribution<int> pick(0, nodes - 1);
  std::uniform_int_distribution<int> kind(0, 9);
  std::vector<vector_clock> clocks(nodes);
  std::vector<std::set<int>> seen(nodes);
  std::vector<snapshot> snaps;
  int next_event = 0;
  snaps.push_back({vector_clock{}, {}}); // the initial state
  for (int step = 0; step < steps; ++step) {
    auto now = static_cast<uint64_t>(step);
    auto k = kind(rng);
    int i = pick(rng);
    if (k < 4) {
      // Local event.
      clocks[i].increment("p" + std::to_string(i), now);
      seen[i].insert(next_event++);
    } else {
      // Message from j to i; half the time the receive is itself an event,
      // otherwise i only learns j's past (which can make two processes'
      // clocks equal).
      int j = pick(rng);
      clocks[i].merge(clocks[j]);
      seen[i].insert(seen[j].begin(), seen[j].end());
      if (k < 7) {
        clocks[i].increment("p" + std::to_string(i), now);
        seen[i].insert(next_event++);
      }
    }
    snaps.push_back({clocks[i], seen[i]});
  }
  for (int i = 0; i < nodes; ++i)
    snaps.push_back({clocks[i], seen[i]});
  return snaps;
}

} // namespace

BOOST_AUTO_TEST_CASE(compare_agrees_with_happened_before) {
  std::map<causal_order, int> tally;
  for (uint32_t seed : {1u, 2u, 3u, 17u, 12345u}) {
    for (int nodes : {2, 3, 5}) {
      auto snaps = simulate(seed, nodes, 150);
      for (auto& a : snaps) {
        for (auto& b : snaps) {
          auto want = set_order(a.seen, b.seen);
          auto got = a.clock.compare(b.clock);
          ++tally[want];
          if (got != want) {
            BOOST_ERROR("seed " << seed << ": " << a.clock.to_string()
                                << " vs " << b.clock.to_string() << " gave "
                                << kv::to_string(got) << ", want "
                                << kv::to_string(want));
          }
          BOOST_TEST(a.clock.descends(b.clock)
                     == std::includes(a.seen.begin(), a.seen.end(),
                                      b.seen.begin(), b.seen.end()));
        }
      }
    }
  }
  // The histories are rich enough to exercise every outcome.
  BOOST_TEST(tally[causal_order::equal] > 0);
  BOOST_TEST(tally[causal_order::before] > 0);
  BOOST_TEST(tally[causal_order::after] > 0);
  BOOST_TEST(tally[causal_order::concurrent] > 0);
}

BOOST_AUTO_TEST_CASE(merge_is_the_union_of_causal_pasts) {
  std::mt19937 rng{555};
  auto snaps = simulate(77, 4, 200);
  std::uniform_int_distribution<std::size_t> pick(0, snaps.size() - 1);
  for (int i = 0; i < 3000; ++i) {
    auto& a = snaps[pick(rng)];
    auto& b = snaps[pick(rng)];
    auto& c = snaps[pick(rng)];
    auto m = merged(a.clock, b.clock);
    std::set<int> u = a.seen;
    u.insert(b.seen.begin(), b.seen.end());
    BOOST_TEST(m.compare(c.clock) == set_order(u, c.seen));
    BOOST_TEST(m.compare(a.clock) == set_order(u, a.seen));
    BOOST_TEST(m.descends(a.clock));
    BOOST_TEST(m.descends(b.clock));
    // Token round trip of every clock seen in the histories.
    auto back = vector_clock::from_token(m.to_token());
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(same_with_timestamps(*back, m));
  }
}

BOOST_AUTO_TEST_SUITE_END()

// -----------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(request_validation)

BOOST_AUTO_TEST_CASE(key_problem_limits) {
  BOOST_TEST(kv::key_problem("").has_value());
  BOOST_TEST(!kv::key_problem("k").has_value());
  BOOST_TEST(!kv::key_problem(std::string(kv::max_key_bytes, 'k')).has_value());
  auto p = kv::key_problem(std::string(kv::max_key_bytes + 1, 'k'));
  BOOST_TEST_REQUIRE(p.has_value());
  BOOST_TEST(p->find(std::to_string(kv::max_key_bytes + 1))
             != std::string::npos);
  BOOST_TEST(p->find(std::to_string(kv::max_key_bytes)) != std::string::npos);
  // Bytes, not characters; any byte is allowed.
  BOOST_TEST(!kv::key_problem(std::string_view{"\0\xff", 2}).has_value());
}

BOOST_AUTO_TEST_CASE(value_problem_limits) {
  BOOST_TEST(!kv::value_problem("", 0).has_value()); // empty is fine
  BOOST_TEST(!kv::value_problem("", 10).has_value());
  BOOST_TEST(!kv::value_problem("abc", 3).has_value());
  BOOST_TEST(kv::value_problem("abcd", 3).has_value());
  BOOST_TEST(kv::value_problem("a", 0).has_value());
  auto big = std::string(kv::default_max_value_bytes, 'v');
  BOOST_TEST(!kv::value_problem(big, kv::default_max_value_bytes).has_value());
  big.push_back('v');
  auto p = kv::value_problem(big, kv::default_max_value_bytes);
  BOOST_TEST_REQUIRE(p.has_value());
  BOOST_TEST(p->find(std::to_string(big.size())) != std::string::npos);
}

// Bug D: the coordinator refuses (invalid_argument) a context that
// context_problem reports, so no client can push a counter to the wrap.
BOOST_AUTO_TEST_CASE(context_problem_accepts_real_contexts) {
  BOOST_TEST(!kv::context_problem(vector_clock{}).has_value());
  BOOST_TEST(!kv::context_problem(clk({{"n1", 1, 0}})).has_value());
  BOOST_TEST(!kv::context_problem(clk({{"n1", 3, 5}, {"Node_2-a.b", 9, 0},
                                       {std::string(64, 'z'), 1, u64_max}}))
                .has_value());
  BOOST_TEST(!kv::context_problem(clk({{"n1", largest_ok, 0}})).has_value());
  // Whatever from_token accepts, context_problem accepts.
  std::mt19937 rng{404};
  for (int i = 0; i < 300; ++i) {
    auto c = random_clock(rng, 8, largest_ok, u64_max);
    BOOST_TEST_REQUIRE(vector_clock::from_token(c.to_token()).has_value());
    BOOST_TEST(!kv::context_problem(c).has_value());
  }
}

BOOST_AUTO_TEST_CASE(context_problem_reports_counters_from_max_clock_counter_up) {
  for (uint64_t bad : {too_big, too_big + 1, uint64_t{1} << 63, u64_max}) {
    BOOST_TEST_CONTEXT("counter " << bad) {
      auto c = clk({{"a", 1, 0}, {"n7", bad, 0}, {"z", 2, 0}});
      auto p = kv::context_problem(c);
      BOOST_TEST_REQUIRE(p.has_value());
      // The message names the counter and the node.
      BOOST_TEST(p->find(std::to_string(bad)) != std::string::npos);
      BOOST_TEST(p->find("n7") != std::string::npos);
      // Such a context is refused as a token too.
      BOOST_TEST(!vector_clock::from_token(c.to_token()).has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(context_problem_reports_invalid_node_ids) {
  // The constructor takes any string; context_problem is the gate.
  for (const std::string& id :
       {std::string{""}, std::string{"a b"}, std::string{"n:1"},
        std::string{"n@1"}, std::string{"n,1"}, std::string(65, 'x')}) {
    BOOST_TEST_CONTEXT("id \"" << id << "\"") {
      auto p = kv::context_problem(clk({{"n1", 1, 0}, {id, 1, 0}}));
      BOOST_TEST(p.has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(options_problem_ranges) {
  auto opts = [](uint32_t n, uint32_t r, uint32_t w) {
    kv::request_options o;
    o.n = n;
    o.r = r;
    o.w = w;
    o.timeout_ms = 1000;
    return o;
  };
  // Usable.
  BOOST_TEST(!kv::options_problem(opts(3, 2, 2), 3).has_value());
  BOOST_TEST(!kv::options_problem(opts(3, 1, 3), 5).has_value());
  BOOST_TEST(!kv::options_problem(opts(1, 1, 1), 1).has_value());
  BOOST_TEST(!kv::options_problem(opts(3, 3, 3), 3).has_value());
  // N.
  BOOST_TEST(kv::options_problem(opts(0, 0, 0), 3).has_value());
  BOOST_TEST(kv::options_problem(opts(0, 1, 1), 3).has_value());
  BOOST_TEST(kv::options_problem(opts(4, 2, 2), 3).has_value());
  BOOST_TEST(kv::options_problem(opts(1, 1, 1), 0).has_value());
  // R.
  BOOST_TEST(kv::options_problem(opts(3, 0, 2), 3).has_value());
  BOOST_TEST(kv::options_problem(opts(3, 4, 2), 5).has_value());
  // W.
  BOOST_TEST(kv::options_problem(opts(3, 2, 0), 3).has_value());
  BOOST_TEST(kv::options_problem(opts(3, 2, 4), 5).has_value());
  // Messages name the offending setting.
  auto r = kv::options_problem(opts(3, 4, 2), 5);
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r->find("r=4") != std::string::npos);
  auto w = kv::options_problem(opts(3, 2, 7), 5);
  BOOST_TEST_REQUIRE(w.has_value());
  BOOST_TEST(w->find("w=7") != std::string::npos);
  auto n = kv::options_problem(opts(5, 2, 2), 3);
  BOOST_TEST_REQUIRE(n.has_value());
  BOOST_TEST(n->find("n=5") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(resolve_fills_only_zeros) {
  kv::consistency_defaults d; // 3, 2, 2, 5000
  auto all = kv::resolve(kv::request_options{}, d);
  BOOST_TEST(all.n == 3u);
  BOOST_TEST(all.r == 2u);
  BOOST_TEST(all.w == 2u);
  BOOST_TEST(all.timeout_ms == 5000u);
  BOOST_TEST(!all.strict_quorum);
  kv::request_options o;
  o.n = 5;
  o.w = 1;
  o.strict_quorum = true;
  auto some = kv::resolve(o, d);
  BOOST_TEST(some.n == 5u);
  BOOST_TEST(some.r == 2u);
  BOOST_TEST(some.w == 1u);
  BOOST_TEST(some.timeout_ms == 5000u);
  BOOST_TEST(some.strict_quorum);
  BOOST_TEST(!kv::options_problem(all, 3).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
