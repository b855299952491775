#define BOOST_TEST_MODULE failure_detector
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "actors/membership/failure_detector.hpp"

namespace kv {

// Lets BOOST_TEST print statuses when a comparison fails.
std::ostream& operator<<(std::ostream& os, member_status x) {
  return os << to_string(x);
}

} // namespace kv

using namespace std::chrono_literals;
using kv::failure_detector;
using kv::failure_detector_settings;
using kv::member_status;
using kv::status_change;
using clock_type = failure_detector::clock;
using ms = std::chrono::milliseconds;

namespace {

// All time is synthetic: offsets from the clock's epoch.
clock_type::time_point at(ms offset) {
  return clock_type::time_point{} + offset;
}

// A detector owned by `self` that knows `peers` since time zero.
failure_detector make(const std::string& self,
                      const std::vector<std::string>& peers,
                      failure_detector_settings settings = {}) {
  failure_detector fd{self, settings};
  for (auto& p : peers)
    fd.add(p, at(0ms));
  return fd;
}

// "c:up->suspect", so expected transitions read as one vector literal.
std::vector<std::string> str(const std::vector<status_change>& xs) {
  std::vector<std::string> result;
  for (auto& x : xs)
    result.push_back(x.node_id + ":" + kv::to_string(x.from) + "->"
                     + kv::to_string(x.to));
  return result;
}

using strings = std::vector<std::string>;

} // namespace

// -- staying up ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(advancing_node_stays_up) {
  auto fd = make("a", {"b"});
  for (int64_t i = 1; i <= 60; ++i) {
    fd.observe_heartbeat("b", i, at(ms{i * 1000}));
    BOOST_TEST(fd.evaluate(at(ms{i * 1000 + 999})).empty());
  }
  BOOST_TEST(fd.status_of("b") == member_status::up);
  BOOST_TEST(fd.suspects().empty());
}

BOOST_AUTO_TEST_CASE(merely_slow_node_stays_up) {
  // Heartbeats 2.9 s apart with suspect_after 3 s, evaluated every 100 ms.
  auto fd = make("a", {"b"});
  int64_t hb = 0;
  for (int64_t t = 0; t <= 60'000; t += 100) {
    if (t % 2900 == 0)
      fd.observe_heartbeat("b", ++hb, at(ms{t}));
    BOOST_TEST(fd.evaluate(at(ms{t})).empty());
  }
  BOOST_TEST(fd.status_of("b") == member_status::up);
}

// -- suspect ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(suspect_after_timeout_not_before) {
  auto fd = make("a", {"b"});
  fd.observe_heartbeat("b", 7, at(1s));
  // Gossip relaying the same value is not progress.
  fd.observe_heartbeat("b", 7, at(3s));
  fd.observe_heartbeat("b", 6, at(3s));
  BOOST_TEST(fd.evaluate(at(3999ms)).empty());
  BOOST_TEST(fd.status_of("b") == member_status::up);
  BOOST_TEST(str(fd.evaluate(at(4s))) == strings{"b:up->suspect"});
  BOOST_TEST(fd.status_of("b") == member_status::suspect);
}

// -- down ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(two_node_cluster_down_by_timeout_alone) {
  // Nobody else could confirm, so confirmations are capped to zero.
  auto fd = make("a", {"b"});
  BOOST_TEST(str(fd.evaluate(at(3s))) == strings{"b:up->suspect"});
  BOOST_TEST(fd.evaluate(at(7999ms)).empty());
  BOOST_TEST(str(fd.evaluate(at(8s))) == strings{"b:suspect->down"});
  BOOST_TEST(fd.status_of("b") == member_status::down);
}

BOOST_AUTO_TEST_CASE(three_node_cluster_down_needs_timeout_and_one_peer) {
  auto fd = make("a", {"b", "c"});
  strings seen;
  for (int64_t t = 1; t <= 7; ++t) {
    fd.observe_heartbeat("b", t, at(ms{t * 1000}));
    if (t >= 4) // b suspects c from 4 s on: confirmed, but not long enough
      fd.observe_report("b", {"c"}, at(ms{t * 1000}));
    for (auto& x : str(fd.evaluate(at(ms{t * 1000}))))
      seen.push_back(x);
  }
  BOOST_TEST(seen == strings{"c:up->suspect"});
  BOOST_TEST(fd.evaluate(at(7999ms)).empty());
  BOOST_TEST(str(fd.evaluate(at(8s))) == strings{"c:suspect->down"});
}

BOOST_AUTO_TEST_CASE(timeout_without_confirmation_stays_suspect_forever) {
  auto fd = make("a", {"b", "c", "d", "e"});
  strings seen;
  for (int64_t t = 1; t <= 600; ++t) {
    for (auto id : {"b", "c", "d"})
      fd.observe_heartbeat(id, t, at(ms{t * 1000}));
    for (auto& x : str(fd.evaluate(at(ms{t * 1000}))))
      seen.push_back(x);
  }
  BOOST_TEST(seen == strings{"e:up->suspect"});
  BOOST_TEST(fd.status_of("e") == member_status::suspect);
}

BOOST_AUTO_TEST_CASE(five_node_cluster_needs_two_confirmations) {
  auto fd = make("a", {"b", "c", "d", "e"});
  auto beat = [&](int64_t t) {
    for (auto id : {"b", "c", "d"})
      fd.observe_heartbeat(id, t, at(ms{t * 1000}));
  };
  beat(9);
  fd.observe_report("b", {"e"}, at(9s));
  BOOST_TEST(str(fd.evaluate(at(9s))) == strings{"e:up->suspect"});
  beat(10);
  fd.observe_report("c", {"e"}, at(10s));
  BOOST_TEST(str(fd.evaluate(at(10s))) == strings{"e:suspect->down"});
}

// -- which reports count ------------------------------------------------------

BOOST_AUTO_TEST_CASE(reports_from_suspect_or_down_peers_do_not_count) {
  // b and c are up; d and e are silent. Only b and c may confirm, so e needs
  // both of them; d's report must not stand in for c's.
  auto fd = make("a", {"b", "c", "d", "e"});
  fd.observe_heartbeat("b", 1, at(9s));
  fd.observe_heartbeat("c", 1, at(9s));
  fd.observe_report("b", {"d", "e"}, at(9s));
  fd.observe_report("d", {"e"}, at(9s));
  BOOST_TEST(str(fd.evaluate(at(9s)))
             == (strings{"d:up->suspect", "e:up->suspect"}));
  // c confirms d only: d goes down, e still has just b.
  fd.observe_heartbeat("b", 2, at(10s));
  fd.observe_heartbeat("c", 2, at(10s));
  fd.observe_report("c", {"d"}, at(10s));
  fd.observe_report("d", {"e"}, at(10s));
  BOOST_TEST(str(fd.evaluate(at(10s))) == strings{"d:suspect->down"});
  // d is down now: its report still does not count.
  fd.observe_heartbeat("b", 3, at(11s));
  fd.observe_heartbeat("c", 3, at(11s));
  fd.observe_report("d", {"e"}, at(11s));
  BOOST_TEST(fd.evaluate(at(11s)).empty());
  BOOST_TEST(fd.status_of("e") == member_status::suspect);
  fd.observe_report("c", {"d", "e"}, at(11s));
  BOOST_TEST(str(fd.evaluate(at(11s))) == strings{"e:suspect->down"});
}

BOOST_AUTO_TEST_CASE(confirmations_capped_by_up_peers) {
  // 4 nodes, but c is silent too: only b can confirm d, so one suffices,
  // and c's report does not count towards it.
  auto fd = make("a", {"b", "c", "d"});
  fd.observe_heartbeat("b", 1, at(9s));
  fd.observe_report("c", {"d"}, at(9s));
  BOOST_TEST(str(fd.evaluate(at(9s)))
             == (strings{"c:up->suspect", "d:up->suspect"}));
  fd.observe_report("b", {"d"}, at(9s));
  BOOST_TEST(str(fd.evaluate(at(9s))) == strings{"d:suspect->down"});
  BOOST_TEST(fd.status_of("c") == member_status::suspect);
}

BOOST_AUTO_TEST_CASE(stale_reports_do_not_count) {
  failure_detector_settings s;
  s.report_ttl = 5s;
  auto beating = [&](failure_detector& fd, int64_t until) {
    for (int64_t t = 1; t <= until; ++t)
      fd.observe_heartbeat("b", t, at(ms{t * 1000}));
  };
  // Reported at 2 s, 6 s old at 8 s: stale.
  auto fd = make("a", {"b", "c"}, s);
  beating(fd, 8);
  fd.observe_report("b", {"c"}, at(2s));
  BOOST_TEST(str(fd.evaluate(at(8s))) == strings{"c:up->suspect"});
  BOOST_TEST(fd.evaluate(at(8500ms)).empty());
  // Re-reported: counts again (b is still up at 9 s).
  fd.observe_report("b", {"c"}, at(9s));
  fd.observe_heartbeat("b", 9, at(9s));
  BOOST_TEST(str(fd.evaluate(at(9s))) == strings{"c:suspect->down"});
  // Exactly report_ttl old still counts.
  auto fd2 = make("a", {"b", "c"}, s);
  beating(fd2, 8);
  fd2.observe_report("b", {"c"}, at(3s));
  BOOST_TEST(str(fd2.evaluate(at(8s)))
             == (strings{"c:up->suspect", "c:suspect->down"}));
}

BOOST_AUTO_TEST_CASE(new_report_replaces_old) {
  auto fd = make("a", {"b", "c", "d"});
  auto beat = [&](int64_t t) {
    fd.observe_heartbeat("b", t, at(ms{t * 1000}));
    fd.observe_heartbeat("d", t, at(ms{t * 1000}));
  };
  beat(5);
  fd.observe_report("b", {"c"}, at(5s));
  fd.observe_report("d", {"c"}, at(5s));
  // b withdraws: its new report names nobody.
  fd.observe_report("b", {}, at(6s));
  beat(8);
  BOOST_TEST(str(fd.evaluate(at(8s))) == strings{"c:up->suspect"});
  BOOST_TEST(fd.status_of("c") == member_status::suspect);
  // d's new report names someone else, which also drops c.
  fd.observe_report("d", {"x"}, at(9s));
  fd.observe_report("b", {"c"}, at(9s));
  beat(9);
  BOOST_TEST(fd.evaluate(at(9s)).empty());
  fd.observe_report("d", {"x", "c"}, at(10s));
  beat(10);
  BOOST_TEST(str(fd.evaluate(at(10s))) == strings{"c:suspect->down"});
}

// -- recovery -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(progress_brings_down_node_back_up_once) {
  auto fd = make("a", {"b"});
  fd.observe_heartbeat("b", 5, at(0s));
  fd.evaluate(at(3s));
  fd.evaluate(at(8s));
  BOOST_TEST(fd.status_of("b") == member_status::down);
  // The stale value again is not progress.
  fd.observe_heartbeat("b", 5, at(20s));
  BOOST_TEST(fd.status_of("b") == member_status::down);
  fd.observe_heartbeat("b", 6, at(20s));
  BOOST_TEST(fd.status_of("b") == member_status::up); // immediately
  BOOST_TEST(fd.suspects().empty());
  BOOST_TEST(str(fd.evaluate(at(20s))) == strings{"b:down->up"});
  BOOST_TEST(fd.evaluate(at(21s)).empty());
  // Silent again: timing restarts from the new progress.
  BOOST_TEST(fd.evaluate(at(22999ms)).empty());
  BOOST_TEST(str(fd.evaluate(at(23s))) == strings{"b:up->suspect"});
  fd.observe_heartbeat("b", 7, at(24s));
  BOOST_TEST(str(fd.evaluate(at(24s))) == strings{"b:suspect->up"});
}

BOOST_AUTO_TEST_CASE(recovery_keeps_reports_but_restarts_timing) {
  auto fd = make("a", {"b", "c"});
  // b stays up and keeps suspecting c in every gossip round.
  auto round = [&](int64_t t) {
    fd.observe_heartbeat("b", t, at(ms{t * 1000}));
    fd.observe_report("b", {"c"}, at(ms{t * 1000}));
  };
  round(8);
  BOOST_TEST(str(fd.evaluate(at(8s)))
             == (strings{"c:up->suspect", "c:suspect->down"}));
  round(10);
  fd.observe_heartbeat("c", 1, at(10s));
  // b's report still names c, yet the node's own progress wins.
  BOOST_TEST(str(fd.evaluate(at(10s))) == strings{"c:down->up"});
  // Down again needs down_after of silence since the new progress, even
  // though the confirmation is there all along.
  round(13);
  BOOST_TEST(str(fd.evaluate(at(13s))) == strings{"c:up->suspect"});
  round(17);
  BOOST_TEST(fd.evaluate(at(17999ms)).empty());
  round(18);
  BOOST_TEST(str(fd.evaluate(at(18s))) == strings{"c:suspect->down"});
}

// -- bookkeeping --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(evaluate_returns_each_transition_once) {
  auto fd = make("a", {"b"});
  // Jumping past both timeouts yields both steps, in order.
  BOOST_TEST(str(fd.evaluate(at(10s)))
             == (strings{"b:up->suspect", "b:suspect->down"}));
  BOOST_TEST(fd.evaluate(at(10s)).empty());
  BOOST_TEST(fd.evaluate(at(100s)).empty());
  // Back up and down again between two evaluations: every step is returned.
  fd.observe_heartbeat("b", 1, at(101s));
  BOOST_TEST(fd.status_of("b") == member_status::up);
  BOOST_TEST(str(fd.evaluate(at(111s)))
             == (strings{"b:down->up", "b:up->suspect", "b:suspect->down"}));
  BOOST_TEST(fd.evaluate(at(111s)).empty());
}

BOOST_AUTO_TEST_CASE(suspects_lists_suspect_and_down_nodes) {
  auto fd = make("a", {"b", "c", "d", "e"});
  fd.add("f", at(5s));
  for (int64_t t = 1; t <= 9; ++t) {
    fd.observe_heartbeat("b", t, at(ms{t * 1000}));
    fd.observe_heartbeat("c", t, at(ms{t * 1000}));
  }
  fd.observe_report("b", {"e"}, at(9s));
  fd.observe_report("c", {"e"}, at(9s));
  fd.evaluate(at(9s));
  BOOST_TEST(fd.status_of("d") == member_status::suspect);
  BOOST_TEST(fd.status_of("e") == member_status::down);
  BOOST_TEST(fd.status_of("f") == member_status::suspect);
  BOOST_TEST(fd.suspects() == (strings{"d", "e", "f"}));
}

BOOST_AUTO_TEST_CASE(self_unknown_and_removed_nodes) {
  auto fd = make("a", {"b"});
  // Self is never tracked; heartbeats of unknown nodes are ignored and
  // unknown nodes read as up.
  fd.add("a", at(0s));
  fd.observe_heartbeat("zz", 1, at(0s));
  BOOST_TEST(!fd.knows("a"));
  BOOST_TEST(!fd.knows("zz"));
  BOOST_TEST(fd.status_of("zz") == member_status::up);
  // Re-adding a known node does not reset its silence.
  fd.add("b", at(2s));
  BOOST_TEST(str(fd.evaluate(at(3s))) == strings{"b:up->suspect"});
  BOOST_TEST(fd.suspects() == strings{"b"});
  // Removing drops the node and its transitions not yet returned.
  fd.observe_heartbeat("b", 1, at(4s));
  fd.remove("b");
  BOOST_TEST(!fd.knows("b"));
  BOOST_TEST(fd.evaluate(at(4s)).empty());
  BOOST_TEST(fd.suspects().empty());
}

BOOST_AUTO_TEST_CASE(removed_reporter_no_longer_confirms) {
  auto fd = make("a", {"b", "c", "d"});
  fd.observe_heartbeat("b", 1, at(8s));
  fd.observe_heartbeat("d", 1, at(8s));
  fd.observe_report("b", {"c"}, at(8s));
  fd.observe_report("d", {"c"}, at(8s));
  fd.remove("d");
  fd.add("d", at(8s)); // back, but its old report is gone: only b confirms
  fd.observe_report("a", {"c"}, at(8s)); // self never confirms
  BOOST_TEST(str(fd.evaluate(at(8s))) == strings{"c:up->suspect"});
}

// -- simulation ---------------------------------------------------------------

namespace {

// Nodes a..e, each with its own detector, in rounds of `period` synthetic
// time: every live node advances its heartbeat (slow ones only every few
// rounds) and then "gossips" its heartbeat and its suspects to every other
// live node; then every live node evaluates.
struct cluster_sim {
  failure_detector_settings settings;
  ms period{1000};
  strings ids{"a", "b", "c", "d", "e"};
  std::map<std::string, failure_detector> detectors;
  std::map<std::string, uint64_t> heartbeats;
  std::map<std::string, int64_t> beat_every; // rounds between beats; 1 if unset
  std::set<std::string> dead;
  int64_t round = 0;
  // Per observer: (round, transition) as evaluate returned them.
  std::map<std::string, std::vector<std::pair<int64_t, status_change>>> log;

  explicit cluster_sim(failure_detector_settings s) : settings(s) {
    for (auto& id : ids) {
      failure_detector fd{id, settings};
      for (auto& other : ids)
        if (other != id)
          fd.add(other, at(0ms));
      detectors.emplace(id, std::move(fd));
      heartbeats[id] = 0;
    }
  }

  bool alive(const std::string& id) const { return dead.count(id) == 0; }

  void step() {
    ++round;
    auto now = at(period * round);
    for (auto& id : ids) {
      auto every = beat_every.count(id) ? beat_every[id] : 1;
      if (alive(id) && round % every == 0)
        ++heartbeats[id];
    }
    // Snapshot what everyone sends first, so delivery order cannot matter.
    std::map<std::string, strings> sent;
    for (auto& id : ids)
      if (alive(id))
        sent[id] = detectors.at(id).suspects();
    for (auto& [sender, sus] : sent)
      for (auto& receiver : ids)
        if (receiver != sender && alive(receiver)) {
          auto& fd = detectors.at(receiver);
          fd.observe_heartbeat(sender, heartbeats[sender], now);
          fd.observe_report(sender, sus, now);
        }
    for (auto& id : ids)
      if (alive(id))
        for (auto& x : detectors.at(id).evaluate(now))
          log[id].emplace_back(round, x);
  }

  void run(int64_t rounds) {
    for (int64_t i = 0; i < rounds; ++i)
      step();
  }
};

// ceil(x / period) in whole rounds.
int64_t rounds_for(ms x, ms period) {
  return (x.count() + period.count() - 1) / period.count();
}

} // namespace

BOOST_AUTO_TEST_CASE(simulation_dead_node_marked_down_within_bound) {
  failure_detector_settings s; // 3 s / 8 s / 2 confirmations / 10 s ttl
  cluster_sim sim{s};
  // Reports are refreshed every round, so they must outlive one round.
  BOOST_REQUIRE(s.report_ttl >= sim.period);
  sim.run(10);
  BOOST_TEST(sim.log.empty());
  // c's last heartbeat reached everyone in round 10.
  sim.dead.insert("c");
  auto killed = sim.round;
  // Survivors suspect c after ceil(suspect_after / period) rounds of silence;
  // their reports reach each other one round later; down needs both that
  // and ceil(down_after / period) rounds of silence.
  auto suspect_rounds = rounds_for(s.suspect_after, sim.period);
  auto bound = std::max(rounds_for(s.down_after, sim.period), suspect_rounds + 1);
  BOOST_TEST(bound == 8);
  sim.run(bound + 5);
  for (auto& id : sim.ids) {
    if (id == "c")
      continue;
    BOOST_TEST_CONTEXT("observer " << id) {
      BOOST_TEST(sim.detectors.at(id).status_of("c") == member_status::down);
      auto& log = sim.log[id];
      BOOST_REQUIRE(log.size() == 2u); // nobody else changed
      BOOST_TEST(log[0].second.node_id == "c");
      BOOST_TEST(log[0].second.to == member_status::suspect);
      BOOST_TEST(log[0].first - killed == suspect_rounds);
      BOOST_TEST(log[1].second.node_id == "c");
      BOOST_TEST(log[1].second.to == member_status::down);
      BOOST_TEST(log[1].first - killed <= bound);
      // ...and not before the timeout.
      BOOST_TEST(log[1].first - killed >= rounds_for(s.down_after, sim.period));
    }
  }
}

BOOST_AUTO_TEST_CASE(simulation_slow_node_is_not_suspected) {
  failure_detector_settings s;
  cluster_sim sim{s};
  sim.beat_every["e"] = 2; // every 2 s, under suspect_after (3 s)
  BOOST_REQUIRE(sim.period * 2 < s.suspect_after);
  sim.run(120);
  BOOST_TEST(sim.log.empty());
  for (auto& id : sim.ids)
    BOOST_TEST(sim.detectors.at(id).suspects().empty());
  // The same node slower than suspect_after is suspected: the check above
  // is not vacuous.
  cluster_sim slower{s};
  slower.beat_every["e"] = 4;
  slower.run(20);
  BOOST_TEST(!slower.log["a"].empty());
}

BOOST_AUTO_TEST_CASE(simulation_slow_node_still_confirms) {
  // A slow but live node is up everywhere, so it counts as a confirmer.
  failure_detector_settings s;
  cluster_sim sim{s};
  sim.beat_every["e"] = 2;
  sim.run(10);
  sim.dead.insert("c");
  sim.run(20);
  for (auto& id : sim.ids) {
    if (id == "c")
      continue;
    BOOST_TEST_CONTEXT("observer " << id) {
      BOOST_TEST(sim.detectors.at(id).status_of("c") == member_status::down);
      BOOST_TEST(sim.detectors.at(id).suspects() == strings{"c"});
    }
  }
}

// -- local pause --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_local_pause_convicts_nobody) {
  // The detector's owner was stopped for 20 s: on waking, every peer looks
  // silent. Forgiving the pause restarts the timers without transitions.
  auto fd = make("a", {"b", "c", "d", "e"});
  BOOST_TEST(fd.evaluate(at(1s)).empty());
  fd.forgive_local_pause(at(21s));
  BOOST_TEST(fd.evaluate(at(21s)).empty());
  for (auto id : {"b", "c", "d", "e"})
    BOOST_TEST(fd.status_of(id) == member_status::up);
  // A peer that really stays silent is still suspected, one timeout later.
  for (auto id : {"b", "c", "d"})
    fd.observe_heartbeat(id, 1, at(23s));
  BOOST_TEST(str(fd.evaluate(at(24s))) == strings{"e:up->suspect"});
}

// Issue 9: a node that stops on SIGTERM says so in its last card; its peers
// mark it down at once instead of after the timeout and confirmations, and
// only a restart (a higher heartbeat) brings it back.
BOOST_AUTO_TEST_CASE(an_announced_stop_is_down_at_once) {
  auto fd = make("a", {"b", "c", "d"});
  fd.observe_heartbeat("b", 10, at(0ms));
  fd.observe_stop("b", 11);
  BOOST_TEST(fd.status_of("b") == member_status::down);
  BOOST_TEST(str(fd.evaluate(at(1ms))) == (std::vector<std::string>{"b:up->down"}));
  // The same card relayed again is no progress, an older one is ignored.
  fd.observe_heartbeat("b", 11, at(2ms));
  fd.observe_stop("b", 5);
  BOOST_TEST(fd.status_of("b") == member_status::down);
  fd.observe_heartbeat("b", 12, at(3ms));
  BOOST_TEST(fd.status_of("b") == member_status::up);
}
