#pragma once

#include <cstdint>

namespace kv {

// Counts the replies of one quorum operation (W acknowledgements of a write,
// R replies of a read) and says when the outcome is decided: success once
// `required` replicas succeeded, failure once too few are left to get there.
class quorum_tracker {
public:
  enum class outcome { pending, reached, impossible };

  quorum_tracker(uint32_t required, uint32_t contacted);

  // Record one replica's reply; returns the outcome after it.
  outcome record_success();
  outcome record_failure();

  outcome state() const;

  uint32_t required() const { return required_; }
  uint32_t contacted() const { return contacted_; }
  uint32_t successes() const { return successes_; }
  uint32_t failures() const { return failures_; }
  uint32_t outstanding() const { return contacted_ - successes_ - failures_; }

private:
  uint32_t required_;
  uint32_t contacted_;
  uint32_t successes_ = 0;
  uint32_t failures_ = 0;
};

} // namespace kv
