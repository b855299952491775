#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace kv {

// Estimates of how far each peer's wall clock is from this node's (peer
// minus local, ms), from gossip round trips (as NTP does, with one timestamp
// from the peer). A deadline sent to a peer is converted with it, so a node
// whose clock runs ahead or behind by any amount still judges deadlines
// right, to within half a round trip.
class clock_offsets {
public:
  using clock = std::chrono::steady_clock;

  // A sample with a longer round trip than this is only taken when nothing
  // fresher is known: its error (half the round trip) is too large.
  static constexpr std::chrono::milliseconds max_trusted_rtt{500};
  // An estimate older than this is replaced by any sample (clocks jump).
  static constexpr std::chrono::seconds refresh_after{10};
  // An estimate older than this is not used at all.
  static constexpr std::chrono::seconds expire_after{60};
  // Wall clocks (ms) at or above this are nonsense (year 141,000 or so).
  static constexpr uint64_t max_wall_clock_ms = uint64_t{1} << 52;

  // One round trip: this node's wall clock when the request left and when
  // the reply came back, and the peer's wall clock in the reply.
  void observe(const std::string& peer, uint64_t sent_ms, uint64_t peer_ms,
               uint64_t received_ms, clock::time_point now);

  // The peer's offset, if a usable estimate exists.
  std::optional<int64_t> offset_of(const std::string& peer,
                                   clock::time_point now) const;

  // Every usable estimate.
  std::map<std::string, int64_t> usable(clock::time_point now) const;

  void forget(const std::string& peer) { samples_.erase(peer); }

private:
  struct sample {
    int64_t offset_ms = 0;
    uint64_t rtt_ms = 0;
    clock::time_point taken;
  };
  std::map<std::string, sample> samples_;
};

// A local wall-clock deadline on the peer's clock, given its offset; 0 (no
// deadline) when the offset is unknown, so a peer is never refused a request
// because of a guess.
uint64_t deadline_on_peer(uint64_t local_deadline_ms,
                          std::optional<int64_t> offset_ms);

} // namespace kv
