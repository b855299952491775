#include "actors/membership/clock_offsets.hpp"

namespace kv {

void clock_offsets::observe(const std::string& peer, uint64_t sent_ms,
                            uint64_t peer_ms, uint64_t received_ms,
                            clock::time_point now) {
  // The local clock stepped back meanwhile, or the peer sent no clock or
  // one no real clock shows (the bound keeps offsets and shifted deadlines
  // far from overflowing): the sample means nothing.
  if (received_ms < sent_ms || peer_ms == 0 || peer_ms >= max_wall_clock_ms
      || received_ms >= max_wall_clock_ms)
    return;
  sample next;
  next.rtt_ms = received_ms - sent_ms;
  // The peer read its clock somewhere inside the round trip; the middle is
  // the best guess, off by at most half the round trip.
  auto midpoint = sent_ms + next.rtt_ms / 2;
  next.offset_ms = static_cast<int64_t>(peer_ms - midpoint);
  next.taken = now;
  auto known = samples_.find(peer);
  bool trusted = next.rtt_ms
                 <= static_cast<uint64_t>(max_trusted_rtt.count());
  if (known == samples_.end() || trusted
      || now - known->second.taken > refresh_after)
    samples_[peer] = next;
}

std::optional<int64_t> clock_offsets::offset_of(const std::string& peer,
                                                clock::time_point now) const {
  auto known = samples_.find(peer);
  if (known == samples_.end() || now - known->second.taken > expire_after)
    return std::nullopt;
  return known->second.offset_ms;
}

std::map<std::string, int64_t>
clock_offsets::usable(clock::time_point now) const {
  std::map<std::string, int64_t> result;
  for (auto& [peer, s] : samples_)
    if (now - s.taken <= expire_after)
      result.emplace(peer, s.offset_ms);
  return result;
}

uint64_t deadline_on_peer(uint64_t local_deadline_ms,
                          std::optional<int64_t> offset_ms) {
  if (!offset_ms)
    return 0;
  auto shifted = static_cast<int64_t>(local_deadline_ms) + *offset_ms;
  // 0 means "no deadline": a shifted deadline is at least 1 ms.
  return shifted < 1 ? 1 : static_cast<uint64_t>(shifted);
}

} // namespace kv
