// The fault checker's analysis over synthetic histories: what counts as
// lost, phantom, resurrected, sibling excess, hang, and how availability is
// split by phase.
#define BOOST_TEST_MODULE kvcheck_analysis
#include <boost/test/unit_test.hpp>

#include "apps/kvcheck/analysis.hpp"

using namespace kv::check;

namespace {

op_record op(op_kind kind, const std::string& key, const std::string& value,
             outcome result, uint64_t start = 100, uint32_t worker = 0,
             const std::string& node = "n1") {
  op_record x;
  x.kind = kind;
  x.key = key;
  x.value = value;
  x.result = result;
  x.start_ms = start;
  x.end_ms = start + 5;
  x.worker = worker;
  x.node = node;
  x.timeout_ms = 1000;
  return x;
}

key_state read(std::vector<std::string> values) {
  return key_state{true, "", std::move(values)};
}

check_result run(const std::vector<op_record>& history,
                 const std::map<std::string, key_state>& final_keys,
                 const std::vector<cluster_event>& events = {}) {
  return analyse(history, events, final_keys, convergence{}, {});
}

} // namespace

BOOST_AUTO_TEST_CASE(acknowledged_put_missing_is_lost) {
  auto res = run({op(op_kind::put, "k", "v", outcome::ok)}, {{"k", read({})}});
  BOOST_TEST(res.lost.size() == 1u);
  BOOST_TEST(!res.valid());
  res = run({op(op_kind::put, "k", "v", outcome::ok)}, {{"k", read({"v"})}});
  BOOST_TEST(res.valid());
  BOOST_TEST(res.acked_puts == 1u);
}

BOOST_AUTO_TEST_CASE(indeterminate_put_may_be_missing_or_present) {
  for (auto values : {std::vector<std::string>{}, {"v"}}) {
    auto res = run({op(op_kind::put, "k", "v", outcome::indeterminate)},
                   {{"k", read(values)}});
    BOOST_TEST(res.valid());
  }
}

BOOST_AUTO_TEST_CASE(failed_put_present_is_counted_not_a_violation) {
  auto res = run({op(op_kind::put, "k", "v", outcome::failed)},
                 {{"k", read({"v"})}});
  BOOST_TEST(res.valid());
  BOOST_TEST(res.failed_but_visible == 1u);
}

BOOST_AUTO_TEST_CASE(value_nobody_wrote_is_a_phantom) {
  auto res = run({op(op_kind::put, "k", "v", outcome::ok)},
                 {{"k", read({"v", "x"})}});
  BOOST_TEST(res.phantoms.size() == 1u);
  BOOST_TEST(res.sibling_violations.size() == 1u); // one writer, two values
}

BOOST_AUTO_TEST_CASE(deletes_stay_deleted) {
  std::vector<op_record> h{op(op_kind::put, "k", "v", outcome::ok),
                           op(op_kind::remove, "k", "", outcome::ok, 200)};
  BOOST_TEST(run(h, {{"k", read({})}}).valid());
  auto res = run(h, {{"k", read({"v"})}});
  BOOST_TEST(res.resurrected.size() == 1u);
  // An indeterminate delete allows both; a failed one keeps the value.
  h[1].result = outcome::indeterminate;
  BOOST_TEST(run(h, {{"k", read({"v"})}}).valid());
  BOOST_TEST(run(h, {{"k", read({})}}).valid());
  h[1].result = outcome::failed;
  BOOST_TEST(run(h, {{"k", read({})}}).lost.size() == 1u);
}

BOOST_AUTO_TEST_CASE(unreadable_key_with_acknowledged_write_fails) {
  auto res = run({op(op_kind::put, "k", "v", outcome::ok)}, {});
  BOOST_TEST(res.unreadable.size() == 1u);
  BOOST_TEST(!res.valid());
}

BOOST_AUTO_TEST_CASE(set_elements_must_survive_in_the_sibling_union) {
  std::vector<op_record> h{op(op_kind::set_write, "s", "a", outcome::ok, 1, 0),
                           op(op_kind::set_write, "s", "b", outcome::ok, 2, 1),
                           op(op_kind::set_write, "s", "c",
                              outcome::indeterminate, 3, 1)};
  // Two siblings from two writers, union a b: fine.
  BOOST_TEST(run(h, {{"s", read({"a", "b"})}}).valid());
  BOOST_TEST(run(h, {{"s", read({"a b c"})}}).valid());
  auto res = run(h, {{"s", read({"a"})}});
  BOOST_TEST(res.lost.size() == 1u);
  res = run(h, {{"s", read({"a b z"})}});
  BOOST_TEST(res.phantoms.size() == 1u);
  // Three siblings but only two writers.
  res = run(h, {{"s", read({"a", "b", "a b"})}});
  BOOST_TEST(res.sibling_violations.size() == 1u);
}

BOOST_AUTO_TEST_CASE(reads_with_more_siblings_than_writers_are_flagged) {
  auto r = op(op_kind::set_read, "s", "", outcome::ok, 5, 0);
  r.siblings = 2;
  std::vector<op_record> h{op(op_kind::set_write, "s", "a", outcome::ok, 1, 0),
                           r};
  BOOST_TEST(run(h, {{"s", read({"a"})}}).sibling_violations.size() == 1u);
}

// A write of unknown outcome may have landed on one replica that the
// writer's next read missed: its next write does not supersede it, so one
// more sibling than writers is the store keeping both, not an excess. One
// sibling beyond that still is.
BOOST_AUTO_TEST_CASE(a_write_of_unknown_outcome_allows_one_sibling_more) {
  auto r = op(op_kind::set_read, "s", "", outcome::ok, 20, 0);
  r.siblings = 2;
  auto early = op(op_kind::set_read, "s", "", outcome::ok, 2, 0);
  early.siblings = 2;
  std::vector<op_record> h{op(op_kind::set_write, "s", "a", outcome::ok, 1, 0),
                           early,
                           op(op_kind::set_write, "s", "b",
                              outcome::indeterminate, 10, 0),
                           r};
  // Only the read before the unsure write is an excess.
  auto res = run(h, {{"s", read({"a", "b"})}});
  BOOST_TEST(res.sibling_violations.size() == 1u);
  r.siblings = 3;
  h.back() = r;
  BOOST_TEST(run(h, {{"s", read({"a", "b"})}}).sibling_violations.size() == 2u);
}

BOOST_AUTO_TEST_CASE(late_answers_are_hangs) {
  auto slow = op(op_kind::put, "k", "v", outcome::indeterminate);
  slow.end_ms = slow.start_ms + 1000 + 2000 + 3000 + 1;
  BOOST_TEST(run({slow}, {{"k", read({})}}).hangs.size() == 1u);
  slow.end_ms -= 2;
  BOOST_TEST(run({slow}, {{"k", read({})}}).hangs.empty());
}

BOOST_AUTO_TEST_CASE(availability_by_phase_excludes_down_nodes) {
  std::vector<cluster_event> events{
    {1000, "fault_start", "kill", "n2"}, {1000, "node_down", "n2", "kill"},
    {2000, "node_up", "n2", "restart"},  {2000, "fault_end", "kill", "n2"},
    {3000, "healed", "all", ""}};
  std::vector<op_record> h{
    op(op_kind::put, "a", "1", outcome::ok, 500),
    op(op_kind::put, "b", "1", outcome::indeterminate, 1500, 0, "n1"),
    op(op_kind::put, "c", "1", outcome::failed, 1500, 1, "n2"),
    op(op_kind::put, "d", "1", outcome::ok, 3500)};
  auto res = run(h, {{"a", read({"1"})}, {"b", read({})}, {"c", read({})},
                     {"d", read({"1"})}},
                 events);
  BOOST_TEST(res.valid());
  BOOST_TEST(res.phases["steady"].ops == 1u);
  BOOST_TEST(res.phases["fault"].ops == 1u);
  BOOST_TEST(res.phases["fault"].to_down_nodes == 1u);
  BOOST_TEST(res.phases["fault"].error_rate() == 1.0);
  BOOST_TEST(res.phases["fault:kill"].ops == 1u);
  BOOST_TEST(res.phases["healed"].ok == 1u);
}

BOOST_AUTO_TEST_CASE(history_lines_round_trip) {
  auto x = op(op_kind::set_write, "key \"q\"", "e1-2", outcome::indeterminate);
  x.error = "timeout\nline";
  x.siblings = 3;
  std::string error;
  auto back = parse_op(to_json(x), error);
  BOOST_REQUIRE(back);
  BOOST_TEST(back->key == x.key);
  BOOST_TEST(back->error == x.error);
  BOOST_TEST(back->siblings == 3u);
  BOOST_TEST((back->result == outcome::indeterminate));
  BOOST_TEST(!parse_op("{\"id\":1", error));
}

BOOST_AUTO_TEST_CASE(incidents_become_crashes_and_hangs) {
  auto res = analyse({}, {}, {}, convergence{},
                     {"crash n2 exited with status 134", "hang n3 did not stop"});
  BOOST_TEST(res.crashes.size() == 1u);
  BOOST_TEST(res.hangs.size() == 1u);
  BOOST_TEST(!res.valid());
}

BOOST_AUTO_TEST_CASE(replicas_left_divergent_fail_the_run) {
  convergence diverged;
  diverged.keys = 1;
  diverged.divergent = 1;
  diverged.samples = {"k: n1: [v] n2: []"};
  std::map<std::string, key_state> final_keys{{"k", read({"v"})}};
  auto history = std::vector<op_record>{op(op_kind::put, "k", "v", outcome::ok)};
  auto res = analyse(history, {}, final_keys, diverged, {});
  BOOST_TEST(res.lost.empty());
  BOOST_TEST(!res.valid());
  BOOST_TEST(res.summary().rfind("FAIL", 0) == 0);
}

BOOST_AUTO_TEST_CASE(tombstones_left_after_the_reap_wait_fail_the_run) {
  convergence unreaped;
  unreaped.keys = 1;
  unreaped.reap_waited = true;
  unreaped.tombstones_seen = 1;
  unreaped.tombstones_left = 1;
  unreaped.tombstone_samples = {"k: tombstones on n1"};
  std::map<std::string, key_state> final_keys{{"k", read({})}};
  auto history = std::vector<op_record>{
    op(op_kind::put, "k", "v", outcome::ok),
    op(op_kind::remove, "k", "", outcome::ok)};
  auto res = analyse(history, {}, final_keys, unreaped, {});
  BOOST_TEST(res.lost.empty());
  BOOST_TEST(res.resurrected.empty());
  BOOST_TEST(!res.valid());
  BOOST_TEST(res.summary().find("tombstones left 1/1") != std::string::npos);
  unreaped.tombstones_left = 0;
  BOOST_TEST(analyse(history, {}, final_keys, unreaped, {}).valid());
}
