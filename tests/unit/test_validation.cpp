// Unit tests for messages/validation.hpp and the loading inspectors of
// messages/caf_types.hpp: what arrives from the network is checked before
// any actor sees it. The wire tests use CAF's binary (de)serializer without
// an actor system, as a remote node's bytes would arrive.

#define BOOST_TEST_MODULE test_validation
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "messages/caf_types.hpp"
#include "messages/limits.hpp"
#include "messages/validation.hpp"
#include "tests/support/print_types.hpp"

using namespace kv;

namespace {

constexpr uint64_t too_big = max_clock_counter;

vector_clock clock_of(std::vector<clock_entry> entries) {
  return vector_clock{std::move(entries)};
}

versioned_value version(std::string node, uint64_t counter,
                        std::string value = "v") {
  versioned_value v;
  v.origin = dot{std::move(node), counter};
  v.context = clock_of({{"n1", 1, 0}});
  v.value = std::move(value);
  return v;
}

member_info member() {
  member_info m;
  m.node_id = "n1";
  m.dc = "dc1";
  m.host = "127.0.0.1";
  m.port = 4000;
  m.tokens = {1, 2, 3};
  m.heartbeat = 7;
  return m;
}

template <class T>
std::vector<char> to_bytes(T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  auto err = sink(x);
  BOOST_REQUIRE(!err);
  return buf;
}

// Deserialises `bytes` into a T; returns the error text, empty on success.
template <class T>
std::string load(const std::vector<char>& bytes, T& out) {
  caf::binary_deserializer source{nullptr, bytes};
  auto err = source(out);
  return err ? describe(err) : std::string{};
}

bool contains(const std::optional<std::string>& text, const std::string& part) {
  return text && text->find(part) != std::string::npos;
}


} // namespace

// -----------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(replica_ids)

BOOST_AUTO_TEST_CASE(node_ids_and_incarnations_are_accepted) {
  for (auto id : {"n1", "node-2.dc_1", "n1/0", "n1/12345678901234567890"})
    BOOST_TEST(valid_replica_id(id), id);
}

BOOST_AUTO_TEST_CASE(anything_else_is_refused) {
  for (auto id : {"", "/1", "n1/", "n1/x", "n1/1/2", "n1/-1", "n 1",
                  "n1/123456789012345678901", "n1:1", "n1/1a"})
    BOOST_TEST(!valid_replica_id(id), id);
  BOOST_TEST(!valid_replica_id(std::string(65, 'a') + "/1"));
  BOOST_TEST(valid_replica_id(std::string(64, 'a') + "/1"));
}

BOOST_AUTO_TEST_CASE(tokens_carry_incarnation_ids) {
  auto c = vector_clock::from_token("n1/3:2@5,n2:1@0");
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST(c->counter("n1/3") == 2u);
  BOOST_TEST(!vector_clock::from_token("n1/:2@5").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

// -----------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(clocks)

BOOST_AUTO_TEST_CASE(well_formed_clocks_pass) {
  BOOST_TEST(!clock_problem(vector_clock{}, 0));
  BOOST_TEST(!clock_problem(clock_of({{"n2", 3, 1}, {"n1/4", 1, 0}}), 2));
  BOOST_TEST(!clock_problem(clock_of({{"n1", too_big - 1, 0}}), 1));
}

BOOST_AUTO_TEST_CASE(each_violation_is_named) {
  BOOST_TEST(contains(clock_problem(clock_of({{"a", 1, 0}, {"b", 1, 0}}), 1),
                      "more than 1"));
  BOOST_TEST(contains(clock_problem(clock_of({{"bad id", 1, 0}}), 9),
                      "invalid replica id"));
  BOOST_TEST(contains(clock_problem(clock_of({{"n1", too_big, 0}}), 9),
                      "beyond any real history"));
}

BOOST_AUTO_TEST_CASE(dots) {
  BOOST_TEST(!dot_problem(dot{"n1/2", 1}));
  BOOST_TEST(contains(dot_problem(dot{"n1", 0}), "counter 0"));
  BOOST_TEST(contains(dot_problem(dot{"n1", too_big}), "beyond"));
  BOOST_TEST(contains(dot_problem(dot{"", 1}), "invalid replica id"));
}

BOOST_AUTO_TEST_SUITE_END()

// -----------------------------------------------------------------------------
// The inspector writes entries_ directly, so only these checks stand between
// a peer's bytes and a clock that breaks the class's invariants.
BOOST_AUTO_TEST_SUITE(wire)

BOOST_AUTO_TEST_CASE(a_good_clock_round_trips) {
  auto c = clock_of({{"n1", 3, 10}, {"n2/7", 1, 20}});
  vector_clock back;
  BOOST_TEST(load(to_bytes(c), back) == "");
  BOOST_TEST(back == c);
  BOOST_TEST(back.to_token() == c.to_token());
}

// A clock's bytes are those of its entry list, so a list in any order forges
// the clock a hostile peer could send.
BOOST_AUTO_TEST_CASE(entry_lists_encode_like_clocks) {
  auto c = clock_of({{"n1", 3, 10}, {"n2", 1, 20}});
  auto entries = c.entries();
  BOOST_TEST((to_bytes(entries) == to_bytes(c)));
}

BOOST_AUTO_TEST_CASE(malformed_clocks_fail_to_load_cleanly) {
  struct bad_case {
    std::vector<clock_entry> entries;
    std::string reason;
  };
  std::vector<bad_case> cases{
    {{{"n2", 1, 0}, {"n1", 1, 0}}, "not sorted"},
    {{{"n1", 1, 0}, {"n1", 2, 0}}, "not sorted"},
    {{{"n1", 0, 0}}, "counter 0"},
    {{{"n1", too_big, 0}}, "beyond any real history"},
    {{{"n1", ~uint64_t{0}, 0}}, "beyond any real history"},
    {{{"", 1, 0}}, "invalid replica id"},
    {{{"n1/x", 1, 0}}, "invalid replica id"},
  };
  std::vector<clock_entry> huge;
  for (std::size_t i = 0; i <= max_wire_clock_entries; ++i)
    huge.push_back({"n" + std::to_string(100000 + i), 1, 0});
  cases.push_back({huge, "more than 1024"});
  for (auto& c : cases) {
    vector_clock out;
    auto error = load(to_bytes(c.entries), out);
    BOOST_TEST(error.find("received vector_clock") != std::string::npos, error);
    BOOST_TEST(error.find(c.reason) != std::string::npos, error);
  }
}

BOOST_AUTO_TEST_CASE(a_bad_clock_inside_a_version_fails_the_version) {
  auto v = version("n1", 1);
  auto bytes = to_bytes(v);
  // Same layout with an unsorted context: origin, context, timestamp,
  // tombstone, value.
  dot origin{"n1", 1};
  std::vector<clock_entry> context{{"n2", 1, 0}, {"n1", 1, 0}};
  uint64_t ts = v.timestamp_ms;
  bool tombstone = false;
  std::string value = "v";
  std::vector<char> forged;
  caf::binary_serializer sink{nullptr, forged};
  BOOST_REQUIRE(!sink(origin, context, ts, tombstone, value));
  versioned_value out;
  BOOST_TEST(load(bytes, out) == "");
  auto error = load(forged, out);
  BOOST_TEST(error.find("not sorted") != std::string::npos, error);
}

BOOST_AUTO_TEST_CASE(a_bad_dot_fails_to_load) {
  versioned_value out;
  auto bad = version("n1", 1);
  bad.origin.node = "bad id";
  BOOST_TEST(load(to_bytes(bad), out).find("received dot") != std::string::npos);
  bad = version("n1", 1);
  bad.origin.counter = too_big;
  BOOST_TEST(load(to_bytes(bad), out).find("received dot") != std::string::npos);
  // The default dot (no write yet) still travels.
  versioned_value empty;
  BOOST_TEST(load(to_bytes(empty), out) == "");
}

BOOST_AUTO_TEST_CASE(truncated_bytes_fail_cleanly) {
  auto v = version("n1", 5, std::string(100, 'x'));
  auto bytes = to_bytes(v);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::vector<char> prefix(bytes.begin(), bytes.begin() + n);
    versioned_value out;
    BOOST_TEST(load(prefix, out) != "", n);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// -----------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(versions)

BOOST_AUTO_TEST_CASE(good_sibling_lists_pass) {
  sibling_list empty;
  BOOST_TEST(!versions_problem(empty, 10, 0, 1));
  sibling_list two{version("n1", 1), version("n1", 2)};
  two[1].tombstone = true;
  two[1].value.clear();
  BOOST_TEST(!versions_problem(two, 1, 2, 1));
}

BOOST_AUTO_TEST_CASE(each_violation_is_named) {
  sibling_list three{version("n1", 1), version("n2", 1), version("n3", 1)};
  BOOST_TEST(contains(versions_problem(three, 10, 2, 10), "more than 2"));

  sibling_list twins{version("n1", 4), version("n2", 1), version("n1", 4)};
  BOOST_TEST(contains(versions_problem(twins, 10, 10, 10),
                      "share the origin n1:4"));

  sibling_list big{version("n1", 1, std::string(11, 'x'))};
  BOOST_TEST(contains(versions_problem(big, 10, 10, 10), "more than 10"));

  sibling_list tomb{version("n1", 1)};
  tomb[0].tombstone = true;
  BOOST_TEST(contains(versions_problem(tomb, 10, 10, 10), "tombstone"));

  sibling_list no_dot{version("n1", 0)};
  BOOST_TEST(contains(versions_problem(no_dot, 10, 10, 10), "counter 0"));

  sibling_list bad_origin{version("x/y", 1)};
  BOOST_TEST(contains(versions_problem(bad_origin, 10, 10, 10),
                      "invalid replica id"));

  sibling_list wide{version("n1", 1)};
  wide[0].context = clock_of({{"a", 1, 0}, {"b", 1, 0}, {"c", 1, 0}});
  BOOST_TEST(contains(versions_problem(wide, 10, 10, 2), "context"));

  sibling_list overflow{version("n1", 1)};
  overflow[0].context = clock_of({{"a", too_big, 0}});
  BOOST_TEST(contains(versions_problem(overflow, 10, 10, 2), "version 1"));
}

BOOST_AUTO_TEST_CASE(hints) {
  hint h;
  h.intended_owner = "n2";
  h.key = "k";
  h.versions = {version("n1", 1)};
  BOOST_TEST(!hint_problem(h, 10, 10, 10));
  auto bad = h;
  bad.intended_owner = "n2/1"; // owners are nodes, not incarnations
  BOOST_TEST(contains(hint_problem(bad, 10, 10, 10), "owner"));
  bad = h;
  bad.key.clear();
  BOOST_TEST(hint_problem(bad, 10, 10, 10).has_value());
  bad = h;
  bad.key.assign(max_key_bytes + 1, 'k');
  BOOST_TEST(hint_problem(bad, 10, 10, 10).has_value());
  bad = h;
  bad.versions.push_back(h.versions[0]);
  BOOST_TEST(contains(hint_problem(bad, 10, 10, 10), "share the origin"));
}

BOOST_AUTO_TEST_SUITE_END()

// -----------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(members)

BOOST_AUTO_TEST_CASE(a_good_member_passes) {
  BOOST_TEST(!member_problem(member()));
  auto m = member();
  m.host.clear(); // not yet known
  m.tokens.assign(max_member_tokens, 1);
  m.heartbeat = max_heartbeat - 1;
  m.status = member_status::leaving;
  BOOST_TEST(!member_problem(m));
}

BOOST_AUTO_TEST_CASE(each_violation_is_named) {
  auto m = member();
  m.node_id = "n1/3";
  BOOST_TEST(contains(member_problem(m), "invalid node id"));
  m = member();
  m.dc.clear();
  BOOST_TEST(contains(member_problem(m), "data centre"));
  m.dc.assign(max_dc_bytes + 1, 'd');
  BOOST_TEST(contains(member_problem(m), "data centre"));
  m = member();
  m.host.assign(max_host_bytes + 1, 'h');
  BOOST_TEST(contains(member_problem(m), "host"));
  m = member();
  m.port = 0;
  BOOST_TEST(contains(member_problem(m), "port 0"));
  m = member();
  m.tokens.assign(max_member_tokens + 1, 1);
  BOOST_TEST(contains(member_problem(m), "tokens"));
  m = member();
  m.heartbeat = max_heartbeat;
  BOOST_TEST(contains(member_problem(m), "heartbeat"));
  m = member();
  m.status = static_cast<member_status>(9);
  BOOST_TEST(contains(member_problem(m), "unknown status 9"));
}

BOOST_AUTO_TEST_CASE(members_round_trip_on_the_wire) {
  auto m = member();
  member_info back;
  BOOST_TEST(load(to_bytes(m), back) == "");
  BOOST_TEST(back.node_id == m.node_id);
  BOOST_TEST(back.tokens == m.tokens);
  BOOST_TEST(!member_problem(back));
}

BOOST_AUTO_TEST_SUITE_END()
