#include "actors/coordination/quorum.hpp"

namespace kv {

quorum_tracker::quorum_tracker(uint32_t required, uint32_t contacted)
  : required_(required), contacted_(contacted) {
  // nop
}

quorum_tracker::outcome quorum_tracker::record_success() {
  if (successes_ + failures_ < contacted_)
    ++successes_;
  return state();
}

quorum_tracker::outcome quorum_tracker::record_failure() {
  if (successes_ + failures_ < contacted_)
    ++failures_;
  return state();
}

quorum_tracker::outcome quorum_tracker::state() const {
  if (successes_ >= required_)
    return outcome::reached;
  if (successes_ + outstanding() < required_)
    return outcome::impossible;
  return outcome::pending;
}

} // namespace kv
