// The node's metrics as plain logic: rates and last-minute percentiles from
// cumulative counters, the HTTP request reader facing untrusted bytes, and
// the Prometheus text and status page made from a node's figures.
#define BOOST_TEST_MODULE metrics
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <regex>
#include <set>
#include <sstream>

#include "actors/metrics/exposition.hpp"
#include "actors/metrics/http_request.hpp"
#include "actors/metrics/request_window.hpp"

using namespace kv;

namespace {

// `count` requests of `us` microseconds each, added to `stats`.
void add(request_stats& stats, request_kind kind, int count, uint64_t us) {
  for (int i = 0; i < count; ++i)
    stats.of(kind).record(operation_stats::outcome::ok, us * 1000);
}

} // namespace

BOOST_AUTO_TEST_SUITE(window)

BOOST_AUTO_TEST_CASE(rates_follow_the_load_smoothly) {
  request_window w;
  request_stats s;
  w.observe(0, s);
  for (uint64_t t = 1; t <= 20; ++t) {
    add(s, request_kind::put, 100, 500);
    w.observe(t * 1000, s);
  }
  auto f = w.figures(request_kind::put);
  BOOST_TEST(f.requests == 2000u);
  BOOST_TEST(f.per_s > 99.0);
  BOOST_TEST(f.per_s < 101.0);
  // The load stops: the rate falls within seconds, not a minute.
  for (uint64_t t = 21; t <= 30; ++t)
    w.observe(t * 1000, s);
  BOOST_TEST(w.figures(request_kind::put).per_s < 5.0);
  BOOST_TEST(w.figures(request_kind::get).per_s == 0.0);
}

BOOST_AUTO_TEST_CASE(percentiles_cover_the_last_minute_only) {
  request_window w{std::chrono::seconds{60}, std::chrono::seconds{10}};
  request_stats s;
  w.observe(0, s);
  add(s, request_kind::get, 1000, 50'000); // a slow start: 50 ms
  w.observe(1000, s);
  auto early = w.figures(request_kind::get);
  BOOST_TEST(early.p99_us >= 49'000u);
  BOOST_TEST(early.p99_us <= 51'000u);
  // Two minutes of fast requests later the slow ones are out of the window.
  for (uint64_t t = 2; t <= 130; ++t) {
    add(s, request_kind::get, 10, 200);
    w.observe(t * 1000, s);
  }
  auto late = w.figures(request_kind::get);
  BOOST_TEST(late.p99_us <= 210u);
  BOOST_TEST(late.max_us <= 210u);
  BOOST_TEST(late.window_requests <= 10u * 75);
  BOOST_TEST(late.requests == 1000u + 10u * 129);
}

BOOST_AUTO_TEST_CASE(errors_are_counted_by_kind) {
  request_stats s;
  auto& put = s.of(request_kind::put);
  put.record(operation_stats::outcome::quorum_failed, 1000);
  put.record(operation_stats::outcome::unavailable, 1000);
  put.record(operation_stats::outcome::other, 1000);
  put.record(operation_stats::outcome::ok, 1000);
  BOOST_TEST(put.requests == 4u);
  BOOST_TEST(put.errors == 3u);
  BOOST_TEST(put.quorum_failures == 1u);
  BOOST_TEST(put.unavailable == 1u);
  BOOST_CHECK(outcome_of(true, kv_errc::read_quorum_failed)
              == operation_stats::outcome::quorum_failed);
  BOOST_CHECK(outcome_of(false, kv_errc::unavailable)
              == operation_stats::outcome::other);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(http)

BOOST_AUTO_TEST_CASE(a_request_head_is_read_when_complete) {
  BOOST_CHECK(read_request_head("GET /met").status
              == request_head::state::incomplete);
  BOOST_CHECK(read_request_head("GET /metrics HTTP/1.1\r\nHost: x\r\n").status
              == request_head::state::incomplete);
  auto head = read_request_head("GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_CHECK(head.status == request_head::state::complete);
  BOOST_TEST(head.method == "GET");
  BOOST_TEST(head.path == "/metrics");
  BOOST_CHECK(read_request_head("HEAD / HTTP/1.0\n\n").status
              == request_head::state::complete);
}

BOOST_AUTO_TEST_CASE(hostile_heads_are_refused_early_and_bounded) {
  auto bad = [](std::string_view bytes) { return read_request_head(bytes); };
  BOOST_TEST(bad("GARBAGE\r\n").error_code == 400); // judged at the first line
  BOOST_TEST(bad("GET / HTTP/2.0\r\n").error_code == 400);
  BOOST_TEST(bad("GET noslash HTTP/1.1\r\n").error_code == 400);
  BOOST_TEST(bad("get / HTTP/1.1\r\n").error_code == 400);
  BOOST_TEST(bad("GET /a\x01 HTTP/1.1\r\n").error_code == 400);
  BOOST_TEST(bad("GET / HTTP/1.1 extra\r\n").error_code == 400);
  std::string huge = "GET / HTTP/1.1\r\nX: " + std::string(9000, 'a');
  BOOST_TEST(bad(huge).error_code == 431); // no end in sight
  BOOST_TEST(bad(huge + "\r\n\r\n").error_code == 431);
}

BOOST_AUTO_TEST_CASE(responses_close_and_state_their_length) {
  auto r = http_response(200, "text/plain", "hello");
  BOOST_TEST(r.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  BOOST_TEST(r.find("Content-Length: 5\r\n") != std::string::npos);
  BOOST_TEST(r.find("Connection: close\r\n") != std::string::npos);
  BOOST_TEST(r.substr(r.size() - 9) == "\r\n\r\nhello");
  auto head_only = http_response(200, "text/plain", "hello", true);
  BOOST_TEST(head_only.find("Content-Length: 5\r\n") != std::string::npos);
  BOOST_TEST(head_only.substr(head_only.size() - 4) == "\r\n\r\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(exposition)

node_stats sample_stats() {
  node_stats s;
  s.node_id = "n\"1";
  s.dc = "dc1";
  s.put.requests = 7;
  s.put.errors = 2;
  s.put.quorum_failures = 1;
  s.put.window_requests = 7;
  s.put.p99_us = 1500;
  s.put.latency_sum_s = 0.25;
  s.hints.held = 3;
  s.store.keys = 42;
  s.store.keys_complete = true;
  return s;
}

BOOST_AUTO_TEST_CASE(the_text_format_is_well_formed) {
  member_info up;
  up.node_id = "n1";
  up.status = member_status::up;
  auto text = prometheus_text(sample_stats(), {up});
  std::istringstream lines{text};
  std::string line;
  std::set<std::string> typed;
  const std::regex sample{
    R"(([a-z_]+)(\{[a-z_]+="([^"\\]|\\.)*"(,[a-z_]+="([^"\\]|\\.)*")*\})? [-+0-9.e]+)"};
  const std::regex type{R"(# TYPE ([a-z_]+) (counter|gauge|summary))"};
  std::smatch m;
  while (std::getline(lines, line)) {
    if (line.rfind("# HELP ", 0) == 0)
      continue;
    if (std::regex_match(line, m, type)) {
      BOOST_TEST(typed.insert(m[1].str()).second, "TYPE twice: " << line);
      continue;
    }
    BOOST_TEST_REQUIRE(std::regex_match(line, m, sample), "bad line: " << line);
    auto name = m[1].str();
    for (auto suffix : {"_sum", "_count"})
      if (typed.count(name) == 0 && name.size() > std::strlen(suffix)
          && name.compare(name.size() - std::strlen(suffix), std::string::npos,
                          suffix)
               == 0)
        name.erase(name.size() - std::strlen(suffix));
    BOOST_TEST(typed.count(name) == 1u, "no TYPE before " << line);
  }
  BOOST_TEST(text.find("kv_node_info{node=\"n\\\"1\",dc=\"dc1\"} 1\n")
             != std::string::npos);
  BOOST_TEST(text.find("kv_requests_total{op=\"put\"} 7\n") != std::string::npos);
  BOOST_TEST(text.find("kv_request_errors_total{op=\"put\",kind=\"other\"} 1\n")
             != std::string::npos);
  BOOST_TEST(text.find("kv_request_duration_seconds{op=\"put\",quantile=\"0.99\"} "
                       "0.0015\n")
             != std::string::npos);
  BOOST_TEST(text.find("kv_members{status=\"up\"} 1\n") != std::string::npos);
  BOOST_TEST(text.find("kv_keys 42\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_status_page_escapes_what_nodes_report) {
  member_info m;
  m.node_id = "n<script>";
  m.dc = "dc1";
  m.host = "127.0.0.1";
  m.port = 4000;
  m.load.measured_ms = 1;
  m.load.ops_per_s = 12;
  ring_state ring;
  ring.version = 3;
  auto page = status_page(sample_stats(), {m}, ring);
  BOOST_TEST(page.find("<script>") == std::string::npos);
  BOOST_TEST(page.find("n&lt;script&gt;") != std::string::npos);
  BOOST_TEST(page.find("Ring version 3") != std::string::npos);
  BOOST_TEST(page.find("<td>12</td>") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
