#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/ring/partition_map.hpp"
#include "messages/ring_state.hpp"

namespace kv {

// The ring as the actors of a node route with it: the partition assignment
// that serves now and, while nodes take over partitions, the one that will
// (docs/ring.md). Immutable once built; the ring manager builds one per ring
// version and shares it.
class ring {
public:
  ring() = default; // no ring yet: no key has an owner

  // The reason `state` is not a usable ring (`out` is left alone), or
  // nothing.
  static std::optional<std::string> from_state(const ring_state& state,
                                               ring& out);

  // The key's owners now: reads go to these, writes start with them.
  std::vector<std::string> preference_list(std::string_view key,
                                           uint32_t n) const {
    return current_.preference_list(key, n);
  }

  // Every member once, the preference list first: a sloppy quorum's
  // stand-ins come from the rest, in order.
  std::vector<std::string> walk(std::string_view key, uint32_t n) const {
    return current_.walk(key, n);
  }

  // Nodes that get every write of the key besides its owners, and count
  // toward it (one more acknowledgement needed per node):
  // - during a transfer, the owners-to-be (Cassandra's pending ranges), so
  //   a write acknowledged meanwhile is on enough owners after the switch;
  // - right after a switch, the old owners, until every node routes with
  //   the new ring: a node still on the old one reads from them;
  // - both, when a removal starts before the last switch has drained.
  // Empty otherwise.
  std::vector<std::string> also_written_to(std::string_view key,
                                           uint32_t n) const;

  // Partitions `node_id` must copy before the change can complete (it is in
  // their next list, not in their current one).
  std::vector<uint32_t> incoming(std::string_view node_id) const;
  // The nodes that must copy some partition before the change completes.
  std::vector<std::string> receivers() const;

  bool in_transition() const { return state_.transition != 0; }
  // The change completed, not every node routes with it yet.
  bool draining() const { return !state_.previous.empty(); }
  const partition_map& current() const { return current_; }
  const partition_map& next() const { return next_; }
  const partition_map& previous() const { return previous_; }
  const ring_state& state() const { return state_; }

  std::size_t size() const { return current_.size(); }
  bool empty() const { return current_.empty(); }
  uint64_t epoch() const { return state_.version; }

private:
  ring_state state_;
  partition_map current_;
  partition_map next_;     // empty outside a transition
  partition_map previous_; // empty unless draining
};

} // namespace kv
