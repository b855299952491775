// Clock offset estimates from gossip round trips: what the coordinator uses
// to put a deadline on a replica's own clock (issue 8.10).
#define BOOST_TEST_MODULE clock_offsets
#include <boost/test/unit_test.hpp>

#include "actors/membership/clock_offsets.hpp"

using kv::clock_offsets;
using kv::deadline_on_peer;
using namespace std::chrono_literals;

namespace {
const auto t0 = clock_offsets::clock::time_point{} + 1h;
}

BOOST_AUTO_TEST_CASE(a_peer_ahead_is_measured_to_within_half_a_round_trip) {
  clock_offsets offsets;
  // Sent at 1000 local, back at 1010; the peer, 60 s ahead, read 61005.
  offsets.observe("n2", 1000, 61005, 1010, t0);
  auto offset = offsets.offset_of("n2", t0);
  BOOST_REQUIRE(offset.has_value());
  BOOST_TEST(*offset == 60000);
  // Behind works the same way (offsets are signed).
  offsets.observe("n3", 100000, 100005 - 9000, 100010, t0);
  BOOST_REQUIRE(offsets.offset_of("n3", t0).has_value());
  BOOST_TEST(*offsets.offset_of("n3", t0) == -9000);
}

BOOST_AUTO_TEST_CASE(a_slow_round_trip_does_not_replace_a_good_estimate) {
  clock_offsets offsets;
  offsets.observe("n2", 1000, 61005, 1010, t0);
  // A 4 s round trip (the peer or this node stalled): its midpoint guess
  // may be off by 2 s, so the fresh, precise estimate stays.
  offsets.observe("n2", 2000, 65000, 6000, t0 + 1s);
  BOOST_TEST(*offsets.offset_of("n2", t0 + 1s) == 60000);
  // Once the good one is old, clocks may have stepped: any sample is better.
  offsets.observe("n2", 20000, 83000, 24000, t0 + 20s);
  BOOST_TEST(*offsets.offset_of("n2", t0 + 20s) == 61000);
}

BOOST_AUTO_TEST_CASE(a_step_of_the_peer_clock_is_followed) {
  clock_offsets offsets;
  offsets.observe("n2", 1000, 1005, 1010, t0);
  offsets.observe("n2", 2000, 2005 + 30000, 2010, t0 + 1s);
  BOOST_TEST(*offsets.offset_of("n2", t0 + 1s) == 30000);
}

BOOST_AUTO_TEST_CASE(samples_that_mean_nothing_are_ignored) {
  clock_offsets offsets;
  // The local clock stepped back during the round trip.
  offsets.observe("n2", 5000, 5000, 4000, t0);
  // A peer that sent no clock (0).
  offsets.observe("n3", 1000, 0, 1010, t0);
  BOOST_TEST(!offsets.offset_of("n2", t0).has_value());
  BOOST_TEST(!offsets.offset_of("n3", t0).has_value());
}

BOOST_AUTO_TEST_CASE(estimates_expire_and_can_be_forgotten) {
  clock_offsets offsets;
  offsets.observe("n2", 1000, 1005, 1010, t0);
  offsets.observe("n3", 1000, 1005, 1010, t0 + 50s);
  BOOST_TEST(offsets.usable(t0 + 30s).size() == 2u);
  BOOST_TEST(!offsets.offset_of("n2", t0 + 61s).has_value());
  BOOST_TEST(offsets.usable(t0 + 61s).size() == 1u);
  offsets.forget("n3");
  BOOST_TEST(offsets.usable(t0 + 61s).empty());
}

BOOST_AUTO_TEST_CASE(deadlines_move_to_the_peer_clock_or_are_left_off) {
  BOOST_TEST(deadline_on_peer(10000, 60000) == 70000u);
  BOOST_TEST(deadline_on_peer(10000, -4000) == 6000u);
  // Unknown offset: no deadline rather than a guess that refuses writes.
  BOOST_TEST(deadline_on_peer(10000, std::nullopt) == 0u);
  // Never 0 (which means "none") when a deadline was meant.
  BOOST_TEST(deadline_on_peer(10000, -20000) == 1u);
}

BOOST_AUTO_TEST_CASE(a_nonsense_peer_clock_is_ignored) {
  clock_offsets offsets;
  // A peer clock near 2^64 would make the offset and every shifted deadline
  // overflow.
  offsets.observe("n2", 1000, ~uint64_t{0} - 5, 1010, t0);
  offsets.observe("n3", 1000, clock_offsets::max_wall_clock_ms, 1010, t0);
  BOOST_TEST(offsets.usable(t0).empty());
}
