// The autoscaler's rules (issue 14) over synthetic load traces: a spike,
// a ramp, oscillation (no flapping), quiet load, and the bounds.
#define BOOST_TEST_MODULE scaling_policy
#include <boost/test/unit_test.hpp>

#include <functional>
#include <ostream>
#include <optional>
#include <string>
#include <vector>

#include "actors/autoscale/cluster_load.hpp"
#include "actors/autoscale/scaling_policy.hpp"
#include "tests/support/ring_members.hpp"

using namespace kv;
using namespace std::chrono_literals;

namespace kv {
inline std::ostream& boost_test_print_type(std::ostream& out, scale_action x) {
  return out << to_string(x);
}
} // namespace kv

namespace {

scaling_targets targets() {
  scaling_targets t;
  t.min_nodes = 3;
  t.max_nodes = 5;
  t.replication = 3;
  t.high_ops_per_node = 4000;
  t.low_ops_per_node = 1500;
  t.high_p99_us = 50'000;
  t.out_window = 60s;
  t.in_window = 300s;
  t.cooldown = 300s;
  return t;
}

// `nodes` up nodes sharing `total` ops/s evenly, with p99 `p99_us`.
cluster_sample sample(uint64_t now_ms, std::size_t nodes, double total,
                      uint32_t p99_us = 5'000) {
  cluster_sample s;
  s.now_ms = now_ms;
  for (std::size_t i = 0; i < nodes; ++i) {
    node_sample n;
    n.node_id = "n" + std::to_string(i + 1);
    n.ops_per_s = total / static_cast<double>(nodes);
    n.p99_us = p99_us;
    n.data_bytes = 1'000'000;
    s.nodes.push_back(n);
  }
  return s;
}

struct step {
  uint64_t at_ms;
  scaling_decision decision;
};

// Runs a trace: one sample a second for `seconds`, total load `load(t)`
// (t in seconds) and p99 `p99(t, nodes)`; the cluster's size follows the
// decisions at once.
std::vector<step> run(
  scaling_policy& policy, std::size_t nodes, uint64_t seconds_long,
  const std::function<double(uint64_t)>& load,
  const std::function<uint32_t(uint64_t, std::size_t)>& p99 = {}) {
  std::vector<step> decided;
  for (uint64_t t = 0; t < seconds_long; ++t) {
    auto d = policy.observe(
      sample(t * 1000, nodes, load(t), p99 ? p99(t, nodes) : 5'000));
    if (d.action == scale_action::grow)
      ++nodes;
    if (d.action == scale_action::shrink)
      --nodes;
    if (d.action != scale_action::none)
      decided.push_back({t * 1000, d});
  }
  return decided;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_spike_shorter_than_the_window_changes_nothing) {
  scaling_policy policy{targets()};
  auto decided = run(policy, 3, 600, [](uint64_t t) {
    return t >= 100 && t < 150 ? 30'000.0 : 6'000.0; // 50 s at 10k per node
  });
  BOOST_TEST(decided.empty());
}

BOOST_AUTO_TEST_CASE(a_ramp_grows_the_cluster_step_by_step_up_to_the_maximum) {
  scaling_policy policy{targets()};
  // From 6k to 40k ops/s over 20 minutes, then flat.
  auto decided = run(policy, 3, 3600, [](uint64_t t) {
    return 6'000.0 + 34'000.0 * std::min<double>(t, 1200) / 1200.0;
  });
  BOOST_REQUIRE_EQUAL(decided.size(), 2u); // 3 -> 4 -> 5, the maximum
  for (auto& s : decided)
    BOOST_TEST(s.decision.action == scale_action::grow);
  // The cooldown separates them.
  BOOST_TEST(decided[1].at_ms - decided[0].at_ms >= 300'000u);
  // The first only once 12k ops/s (4k per node) were exceeded for 60 s.
  BOOST_TEST(decided[0].at_ms >= 60'000u);
}

BOOST_AUTO_TEST_CASE(latency_alone_grows_the_cluster) {
  scaling_policy policy{targets()};
  auto decided = run(
    policy, 3, 200, [](uint64_t) { return 3'000.0; },
    [](uint64_t t, std::size_t) { return t >= 10 ? 80'000u : 5'000u; });
  BOOST_REQUIRE_EQUAL(decided.size(), 1u);
  BOOST_TEST(decided[0].decision.action == scale_action::grow);
  BOOST_TEST(decided[0].at_ms == 70'000u);
}

BOOST_AUTO_TEST_CASE(oscillating_load_does_not_flap) {
  scaling_policy policy{targets()};
  // Hot and quiet by turns, each for 40 s: neither window completes.
  auto decided = run(policy, 4, 3600, [](uint64_t t) {
    return (t / 40) % 2 == 0 ? 24'000.0 : 1'000.0;
  });
  BOOST_TEST(decided.empty());
}

BOOST_AUTO_TEST_CASE(a_grown_cluster_does_not_shrink_back_at_the_load_that_grew_it) {
  scaling_policy policy{targets()};
  // 13k ops/s on 3 nodes is hot (4.3k each); on 4 nodes it is 3.25k each,
  // and with one node fewer 4.3k again: not below the low target.
  auto decided = run(policy, 3, 7200, [](uint64_t) { return 13'000.0; });
  BOOST_REQUIRE_EQUAL(decided.size(), 1u);
  BOOST_TEST(decided[0].decision.action == scale_action::grow);
}

BOOST_AUTO_TEST_CASE(quiet_load_shrinks_to_the_floor_taking_the_lightest_node) {
  scaling_policy policy{targets()};
  std::size_t nodes = 5;
  std::vector<scaling_decision> decided;
  for (uint64_t t = 0; t < 3600; ++t) {
    auto s = sample(t * 1000, nodes, 1'000.0);
    s.nodes[1].data_bytes = 10; // n2 holds least
    auto d = policy.observe(s);
    if (d.action == scale_action::shrink) {
      decided.push_back(d);
      --nodes;
    }
  }
  BOOST_REQUIRE_EQUAL(decided.size(), 2u); // 5 -> 4 -> 3, the floor
  BOOST_TEST(decided[0].node == "n2");
  // All equal: the greatest id.
  scaling_policy even{targets()};
  scaling_decision last;
  for (uint64_t t = 0; t <= 300; ++t)
    last = even.observe(sample(t * 1000, 4, 1'000.0));
  BOOST_TEST(last.action == scale_action::shrink);
  BOOST_TEST(last.node == "n4");
}

BOOST_AUTO_TEST_CASE(the_floor_is_the_replication_factor_when_it_is_higher) {
  auto t = targets();
  t.min_nodes = 1;
  t.replication = 3;
  scaling_policy policy{t};
  auto decided = run(policy, 3, 3600, [](uint64_t) { return 10.0; });
  BOOST_TEST(decided.empty());
}

BOOST_AUTO_TEST_CASE(nothing_is_decided_during_a_change_or_with_a_member_down) {
  scaling_policy policy{targets()};
  std::optional<uint64_t> first;
  std::string reason_meanwhile;
  for (uint64_t t = 0; t < 600 && !first; ++t) {
    auto s = sample(t * 1000, 3, 30'000.0); // far above target throughout
    s.ring_changing = t < 300;
    s.nodes[2].up = t < 300 || t >= 500; // then a node down until 500 s
    auto d = policy.observe(s);
    if (t == 400)
      reason_meanwhile = d.reason;
    if (d.action != scale_action::none)
      first = t * 1000;
  }
  // The window starts again once all is well: 500 s + 60 s.
  BOOST_REQUIRE(first);
  BOOST_TEST(*first == 560'000u);
  BOOST_TEST(reason_meanwhile == "a member is not up");
}

BOOST_AUTO_TEST_CASE(unusable_targets_are_named) {
  auto t = targets();
  BOOST_TEST(!targets_problem(t));
  t.min_nodes = 6;
  BOOST_TEST(targets_problem(t).has_value());
  t = targets();
  t.low_ops_per_node = t.high_ops_per_node;
  BOOST_TEST(targets_problem(t).has_value());
  t = targets();
  t.replication = 9;
  BOOST_TEST(targets_problem(t).has_value());
}

// The sample the autoscaler builds from gossip, and who decides.
BOOST_AUTO_TEST_CASE(gossiped_load_becomes_one_sample_and_the_smallest_up_member_decides) {
  std::vector<member_info> members{kv::testing::member("a"),
                                   kv::testing::member("b"),
                                   kv::testing::member("c")};
  auto ring = kv::testing::first_ring_of(members);
  uint64_t wall = 1'000'000;
  for (std::size_t i = 0; i < members.size(); ++i) {
    members[i].load.measured_ms = wall - 500;
    members[i].load.ops_per_s = 1000 * static_cast<uint32_t>(i + 1);
    members[i].load.p99_us = 2000;
    members[i].load.disk_bytes = 10 * (i + 1);
  }
  auto s = sample_cluster(ring, members, 42, wall, 5000);
  BOOST_TEST(!s.ring_changing);
  BOOST_TEST(s.now_ms == 42u);
  BOOST_REQUIRE_EQUAL(s.nodes.size(), 3u);
  BOOST_TEST(s.nodes[1].node_id == "b");
  BOOST_TEST(s.nodes[1].ops_per_s == 2000);
  BOOST_TEST(s.nodes[2].data_bytes == 30u);
  BOOST_TEST(decider_of(ring, members, "c") == "a");
  // a down: b decides, and a counts as not up.
  members[0].status = member_status::down;
  BOOST_TEST(decider_of(ring, members, "c") == "b");
  BOOST_TEST(!sample_cluster(ring, members, 0, wall, 5000).nodes[0].up);
  members[0].status = member_status::up;
  // Stale load, a node waiting to join, a node leaving: not a settled view.
  members[2].load.measured_ms = wall - 6000;
  BOOST_TEST(sample_cluster(ring, members, 0, wall, 5000).ring_changing);
  members[2].load.measured_ms = wall;
  auto joiner = kv::testing::member("d", ring.version);
  members.push_back(joiner);
  BOOST_TEST(sample_cluster(ring, members, 0, wall, 5000).ring_changing);
  members.pop_back();
  members[1].status = member_status::leaving;
  BOOST_TEST(sample_cluster(ring, members, 0, wall, 5000).ring_changing);
}

// Review: the rule that looks at the rate with one node fewer was not
// tested (the other cases pass with the plain rate per node too).
BOOST_AUTO_TEST_CASE(shrinking_looks_at_the_rate_with_one_node_fewer) {
  scaling_policy policy{targets()};
  // 4 nodes at 5000: 1250 each, below 1500; with 3 it would be 1667.
  BOOST_TEST(run(policy, 4, 3600, [](uint64_t) { return 5'000.0; }).empty());
  scaling_policy quieter{targets()};
  auto decided = run(quieter, 4, 3600, [](uint64_t) { return 4'000.0; });
  BOOST_REQUIRE_EQUAL(decided.size(), 1u); // 4 -> 3 (1333 each), the floor
}

BOOST_AUTO_TEST_CASE(the_minimum_is_the_floor_when_it_is_higher) {
  auto t = targets();
  t.min_nodes = 4;
  scaling_policy policy{t};
  auto decided = run(policy, 5, 3600, [](uint64_t) { return 10.0; });
  BOOST_REQUIRE_EQUAL(decided.size(), 1u); // 5 -> 4 only
}

BOOST_AUTO_TEST_CASE(the_cooldown_separates_shrinks_too) {
  auto t = targets();
  t.in_window = 60s;
  scaling_policy policy{t};
  auto decided = run(policy, 5, 3600, [](uint64_t) { return 10.0; });
  BOOST_REQUIRE_EQUAL(decided.size(), 2u);
  BOOST_TEST(decided[0].at_ms == 60'000u);
  BOOST_TEST(decided[1].at_ms == 360'000u); // cooldown, then a new window
}

// Review: a grow for latency at a low rate was undone once the latency
// recovered, and the cycle repeated.
BOOST_AUTO_TEST_CASE(a_grow_for_latency_is_not_undone_at_the_same_rate) {
  scaling_policy policy{targets()};
  // Slow until the cluster has grown, fast afterwards, within grown_memory
  // (1 h) of the grow.
  auto decided = run(
    policy, 3, 3600, [](uint64_t) { return 3'000.0; },
    [](uint64_t, std::size_t nodes) { return nodes == 3 ? 80'000u : 5'000u; });
  auto nodes = std::size_t{4};
  BOOST_REQUIRE_EQUAL(decided.size(), 1u);
  BOOST_TEST(decided[0].decision.action == scale_action::grow);
  // Once the load falls well below what it grew at, it shrinks back.
  scaling_decision last;
  for (uint64_t t = 3600; t < 3600 + 400 && last.action == scale_action::none;
       ++t)
    last = policy.observe(sample(t * 1000, nodes, 1'000.0));
  BOOST_TEST(last.action == scale_action::shrink);
}

// Review: a window counted the time between samples it never saw, and time
// going back underflowed.
BOOST_AUTO_TEST_CASE(a_gap_in_the_samples_or_time_going_back_restarts_the_windows) {
  scaling_policy policy{targets()};
  BOOST_TEST(policy.observe(sample(0, 3, 30'000.0)).action == scale_action::none);
  // 10 minutes later: not "hot for 10 minutes".
  BOOST_TEST(policy.observe(sample(600'000, 3, 30'000.0)).action
             == scale_action::none);
  BOOST_TEST(policy.observe(sample(1'000, 3, 30'000.0)).action
             == scale_action::none);
  uint64_t grew_at = 0;
  for (uint64_t t = 2; t <= 120 && grew_at == 0; ++t)
    if (policy.observe(sample(t * 1000, 3, 30'000.0)).action
        == scale_action::grow)
      grew_at = t * 1000;
  BOOST_TEST(grew_at == 61'000u); // the window started again at 1 s
}

// Review: the rate a cluster grew at blocked shrinking for ever, and jitter
// around 1 s samples reset short windows.
BOOST_AUTO_TEST_CASE(the_grown_at_rate_expires_and_jitter_does_not_reset_windows) {
  auto t = targets();
  t.grown_memory = 3600s;
  scaling_policy policy{t};
  std::size_t nodes = 3;
  uint64_t shrank_at = 0;
  // A grow for latency at 500 ops/s, then fast at the same rate.
  for (uint64_t s = 0; s < 3 * 3600 && shrank_at == 0; ++s) {
    auto d = policy.observe(
      sample(s * 1000, nodes, 500.0, nodes == 3 ? 80'000 : 5'000));
    if (d.action == scale_action::grow)
      ++nodes;
    if (d.action == scale_action::shrink)
      shrank_at = s * 1000;
  }
  // Grew at 60 s; the rate it grew at counts for an hour, then quiet load
  // shrinks it after one in_window more.
  BOOST_TEST(shrank_at == (60 + 3600 + 300) * 1000u);
  auto short_windows = targets();
  short_windows.out_window = 5s;
  scaling_policy jittery{short_windows};
  uint64_t grew_at = 0;
  for (uint64_t s = 0; s < 60 && grew_at == 0; ++s)
    if (jittery.observe(sample(s * 1003, 3, 30'000.0)).action
        == scale_action::grow)
      grew_at = s * 1003;
  BOOST_TEST(grew_at == 5 * 1003u);
}

BOOST_AUTO_TEST_CASE(busy_cores_grow_the_cluster_unless_cpu_is_off) {
  // 500 ops/s per node is well within the rate target; 90% CPU is not.
  auto busy = [](uint64_t now_ms, std::size_t nodes) {
    auto s = sample(now_ms, nodes, 500.0 * nodes);
    for (auto& n : s.nodes)
      n.cpu_share = 0.9;
    return s;
  };
  scaling_policy on{targets()};
  std::optional<scaling_decision> grew;
  for (uint64_t t = 0; t <= 61 && !grew; ++t)
    if (auto d = on.observe(busy(t * 1000, 3)); d.action != scale_action::none)
      grew = d;
  BOOST_REQUIRE(grew);
  BOOST_TEST(grew->action == scale_action::grow);
  BOOST_TEST(grew->reason.find("CPU 90%") != std::string::npos);
  auto t = targets();
  t.high_cpu_share = 0;
  scaling_policy off{t};
  for (uint64_t s = 0; s <= 400; ++s)
    BOOST_TEST(off.observe(busy(s * 1000, 3)).action == scale_action::none);
}

BOOST_AUTO_TEST_CASE(cpu_that_one_node_fewer_would_push_past_half_the_target_blocks_a_shrink) {
  // Quiet by rate, but 4 nodes at 35% would be 47% each on 3 (above 40%).
  auto t = targets();
  scaling_policy policy{t};
  for (uint64_t s = 0; s <= 700; ++s) {
    auto x = sample(s * 1000, 4, 400);
    for (auto& n : x.nodes)
      n.cpu_share = 0.35;
    BOOST_TEST(policy.observe(x).action == scale_action::none);
  }
}

BOOST_AUTO_TEST_CASE(a_shrink_never_takes_out_the_deciding_node) {
  scaling_policy policy{targets()};
  std::optional<scaling_decision> shrunk;
  for (uint64_t s = 0; s <= 301 && !shrunk; ++s) {
    auto x = sample(s * 1000, 4, 100);
    x.nodes[0].data_bytes = 10; // the lightest...
    x.keep = "n1";              // ...but it decides
    if (auto d = policy.observe(x); d.action != scale_action::none)
      shrunk = d;
  }
  BOOST_REQUIRE(shrunk);
  BOOST_TEST(shrunk->action == scale_action::shrink);
  BOOST_TEST(shrunk->node == "n4");
}

BOOST_AUTO_TEST_CASE(an_unsettled_sample_says_why) {
  using kv::testing::member;
  std::vector<member_info> members{member("a"), member("b"), member("c")};
  auto ring = kv::testing::first_ring_of(members);
  uint64_t wall = 1'000'000;
  for (auto& m : members)
    m.load.measured_ms = wall;
  members[1].load.measured_ms = wall - 40'000;
  auto s = sample_cluster(ring, members, 0, wall, 30'000);
  BOOST_TEST(s.ring_changing);
  BOOST_TEST(s.unsettled == "b's load is stale (gossiped 40 s ago)");
  scaling_policy policy{targets()};
  BOOST_TEST(policy.observe(s).reason == s.unsettled);
  members[1].load.measured_ms = wall;
  members.push_back(member("d", ring.version));
  s = sample_cluster(ring, members, 0, wall, 30'000);
  BOOST_TEST(s.unsettled == "d waits to join the ring");
  members.back().status = member_status::leaving;
  BOOST_TEST(sample_cluster(ring, members, 0, wall, 30'000).unsettled
             == "d is leaving");
}

BOOST_AUTO_TEST_CASE(shrink_newest_takes_the_highest_number_whatever_its_data) {
  BOOST_TEST(numbered_after("kv-10", "kv-9"));
  BOOST_TEST(!numbered_after("kv-9", "kv-10"));
  BOOST_TEST(numbered_after("n2", "n1"));
  BOOST_TEST(numbered_after("kv-010", "kv-9"));
  BOOST_TEST(numbered_after("b", "a"));
  auto t = targets();
  t.shrink_newest = true;
  scaling_policy policy{t};
  std::optional<scaling_decision> shrunk;
  for (uint64_t s = 0; s <= 301 && !shrunk; ++s) {
    auto x = sample(s * 1000, 4, 100);
    for (std::size_t i = 0; i < x.nodes.size(); ++i)
      x.nodes[i].node_id = "kv-" + std::to_string(i + 8); // kv-8 .. kv-11
    x.nodes[3].data_bytes = 1u << 30; // the newest holds the most
    if (auto d = policy.observe(x); d.action != scale_action::none)
      shrunk = d;
  }
  BOOST_REQUIRE(shrunk);
  BOOST_TEST(shrunk->node == "kv-11");
}

// Review: a shrink ran the provisioner as soon as the ring stopped listing
// the node, although it could still hold hints (acknowledged writes whose
// only copy it has); the provisioner then stopped it, or deleted its disk.
BOOST_AUTO_TEST_CASE(a_node_that_left_is_stopped_only_once_it_holds_no_hint) {
  auto leaver = kv::testing::member("n4");
  leaver.status = member_status::leaving;
  leaver.load.measured_ms = 2000;
  leaver.load.hints = 3;
  std::vector<member_info> members{kv::testing::member("n1"), leaver};
  BOOST_TEST(!left_and_drained(members, "n4", 1000)); // hints held
  members[1].load.hints = 0;
  BOOST_TEST(left_and_drained(members, "n4", 1000));
  BOOST_TEST(!left_and_drained(members, "n4", 2000)); // measured before it left
  members[1].status = member_status::down;            // cannot tell: wait
  BOOST_TEST(!left_and_drained(members, "n4", 1000));
  BOOST_TEST(!left_and_drained(members, "n9", 0));    // unknown
}

// Review: a node that left the ring but was never stopped (its shrink
// failed after the leave) showed as "leaving" for good and held every later
// decision back; the first fix took such a node over at once, even while
// another decider was still draining it.
BOOST_AUTO_TEST_CASE(a_node_that_left_but_still_runs_is_taken_up_after_a_wait) {
  using kv::testing::member;
  std::vector<member_info> members{member("a"), member("b"), member("c")};
  auto ring = kv::testing::first_ring_of(members);
  auto left = member("d");
  left.status = member_status::leaving; // off the ring: it left
  auto late = member("e");
  late.status = member_status::leaving;
  members.push_back(left);
  std::map<std::string, uint64_t> since;
  BOOST_TEST(!stranded_leaver(since, ring, members, "a", 1000, 10'000));
  BOOST_TEST(!stranded_leaver(since, ring, members, "a", 10'999, 10'000));
  members.push_back(late);
  auto first = stranded_leaver(since, ring, members, "a", 11'000, 10'000);
  BOOST_REQUIRE(first);
  BOOST_TEST(*first == "d"); // waited its 10 s; e has just been seen
  // d waits again from now on, so e, stranded longer, comes next.
  auto second = stranded_leaver(since, ring, members, "a", 21'000, 10'000);
  BOOST_REQUIRE(second);
  BOOST_TEST(*second == "e");
  auto third = stranded_leaver(since, ring, members, "a", 31'000, 10'000);
  BOOST_REQUIRE(third);
  BOOST_TEST(*third == "d");
  // Never the node asking; never while a change is in transfer; a node
  // that stops leaving (stopped: down) is forgotten.
  std::map<std::string, uint64_t> mine;
  BOOST_TEST(!stranded_leaver(mine, ring, {left}, "d", 0, 0));
  auto changing = ring;
  changing.transition = changing.version;
  std::map<std::string, uint64_t> during;
  BOOST_TEST(!stranded_leaver(during, changing, members, "a", 0, 0));
  members[3].status = member_status::down;
  members[4].status = member_status::down;
  stranded_leaver(since, ring, members, "a", 40'000, 10'000);
  BOOST_TEST(since.empty());
}
