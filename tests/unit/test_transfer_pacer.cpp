// The pacing of background copies (handoff, partition cleanup): a byte rate
// and a share of busy time, whichever asks for the longer pause.
#define BOOST_TEST_MODULE transfer_pacer
#include <boost/test/unit_test.hpp>

#include "actors/handoff/transfer_pacer.hpp"

using namespace kv;
using namespace std::chrono_literals;
using clock_type = transfer_pacer::clock;

BOOST_AUTO_TEST_CASE(a_chunk_that_costs_time_waits_for_its_busy_share) {
  transfer_pacer pacer{uint64_t{1} << 30, 0.25};
  auto t0 = clock_type::time_point{} + 1h;
  pacer.started(t0);
  // 40 ms of work at a 25% share: 120 ms of rest.
  BOOST_TEST(pacer.finished(1000, t0 + 40ms).count() == 120);
  // A full share never waits for time.
  transfer_pacer flat_out{uint64_t{1} << 30, 1.0};
  flat_out.started(t0);
  BOOST_TEST(flat_out.finished(1000, t0 + 40ms).count() == 0);
}

BOOST_AUTO_TEST_CASE(cheap_chunks_wait_for_the_byte_rate) {
  transfer_pacer pacer{1000, 1.0}; // 1000 bytes/s
  auto t0 = clock_type::time_point{} + 1h;
  pacer.started(t0);
  // 500 bytes at once: due at 500 ms.
  BOOST_TEST(pacer.finished(500, t0).count() == 500);
  pacer.started(t0 + 500ms);
  // 500 more, 500 ms into the window: due at 1000 ms.
  BOOST_TEST(pacer.finished(500, t0 + 500ms).count() == 500);
}

BOOST_AUTO_TEST_CASE(the_longer_of_the_two_pauses_wins) {
  transfer_pacer pacer{1000, 0.5};
  auto t0 = clock_type::time_point{} + 1h;
  pacer.started(t0);
  // 100 bytes (due at 100 ms) that took 300 ms of work (300 ms of rest).
  BOOST_TEST(pacer.finished(100, t0 + 300ms).count() == 300);
  // Out-of-range settings are clamped, not divided by.
  transfer_pacer odd{0, 0.0};
  odd.started(t0);
  BOOST_TEST(odd.finished(1, t0 + 1ms).count() > 0);
}
