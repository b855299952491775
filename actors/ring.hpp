#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "messages/membership.hpp"

namespace kv {

// A node as the ring sees it.
struct ring_member {
  std::string node_id;
  std::string dc;
  std::vector<uint64_t> tokens; // positions of its virtual nodes
};

// Consistent hashing with virtual nodes. Immutable once built: the ring
// manager builds a new ring (with a higher epoch) on every membership change
// and hands the same snapshot to every actor that needs it.
class ring {
public:
  // 1024: with 256 the balance and movement targets (max/mean <= 1.10,
  // movement within 10% of 1/(n+1)) failed for some cluster sizes; see
  // docs/ring.md.
  static constexpr uint32_t default_tokens_per_node = 1024;

  ring() = default;
  ring(std::vector<ring_member> members, uint64_t epoch);

  // The tokens a node takes when it joins: derived from its id, so every
  // node computes the same ones without asking.
  static std::vector<uint64_t> tokens_for(std::string_view node_id,
                                          uint32_t count);

  // Ring position of a key (stable_hash).
  static uint64_t position_of(std::string_view key);

  // The node owning the token at or after `position` (wrapping); empty ring:
  // empty string.
  const std::string& owner_of(uint64_t position) const;

  // The key's preference list: min(n, size()) distinct nodes in ring order
  // from the key's position, chosen so they cover as many distinct data
  // centres as possible (a replica in every DC before a second in any),
  // then distinct nodes. The first is the key's primary owner.
  std::vector<std::string> preference_list(std::string_view key,
                                           uint32_t n) const;

  // Every node once: preference_list(key, n) first, then the others in
  // ring order from the key's position (the fallbacks a sloppy quorum uses).
  std::vector<std::string> walk(std::string_view key, uint32_t n) const;

  const std::vector<ring_member>& members() const { return members_; }
  const ring_member* find(std::string_view node_id) const;
  std::size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }
  uint64_t epoch() const { return epoch_; }

private:
  struct vnode {
    uint64_t token;
    uint32_t member; // index into members_
  };

  std::vector<ring_member> members_; // sorted by node id
  std::vector<vnode> vnodes_;        // sorted by token
  uint64_t epoch_ = 0;
};

// The ring of `members` that are part of it (not leaving).
ring make_ring(const std::vector<member_info>& members, uint64_t epoch);

} // namespace kv
