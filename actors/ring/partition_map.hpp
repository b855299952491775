#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messages/ring_state.hpp"

namespace kv {

// Dynamo's "strategy 3": the hash space is cut into Q equal partitions
// (Q a power of two) and each partition has an ordered list of up to R
// replica nodes. Keys never move between partitions; membership changes
// move whole partition replicas, so handoff and anti-entropy work per
// partition.
//
// The assignment is history-dependent by design: `add` and `remove` change
// only what they must (a join takes ~R*Q/(n+1) replica slots from the most
// loaded nodes, a leave hands its slots to the least loaded ones), which no
// function of the member set alone achieves at balance <= 1.05 for dozens of
// nodes. So the map is versioned state that one node (the claimant) changes
// and everyone else copies; see docs/ring.md.
//
// Plain data, no CAF: the ring manager owns one and ships immutable copies.
class partition_map {
public:
  struct member {
    std::string node_id;
    std::string dc;
    friend bool operator==(const member& a, const member& b) {
      return a.node_id == b.node_id && a.dc == b.dc;
    }
  };

  static constexpr uint32_t default_partitions = 1024;
  static constexpr uint32_t default_replicas = 3;
  static constexpr uint32_t max_partitions = uint32_t{1} << 16;
  static constexpr uint32_t max_replicas = 16;
  static constexpr std::size_t max_members = 4096;

  // An empty map (no members). `partitions` must be a power of two in
  // [1, max_partitions] and `replicas` in [1, max_replicas]: see valid_shape.
  partition_map(uint32_t partitions = default_partitions,
                uint32_t replicas = default_replicas);

  static bool valid_shape(uint32_t partitions, uint32_t replicas);

  // Rebuilds a map from its wire form; the reason it is not a valid map
  // (`out` is left alone), or nothing.
  static std::optional<std::string>
  from_assignment(uint32_t partitions, uint32_t replicas,
                  const ring_assignment& wire, partition_map& out);
  ring_assignment to_assignment() const;

  // Adds a node and moves to it the replica slots it should hold (a no-op
  // if it is there). Data centres are honoured first: a partition gets a
  // replica in the new node's DC if it has none and a DC twice.
  void add(const std::string& node_id, const std::string& dc);

  // Removes a node, handing each of its slots to the least loaded node not
  // already in that partition (preferring one that keeps the partition's
  // data centres). No-op if absent.
  void remove(std::string_view node_id);

  // Gives every slot of `old_id` to `new_id` (not a member yet), which
  // takes its place in every list: the least movement a replacement can
  // have. No-op if old_id is absent or new_id present.
  void replace(std::string_view old_id, const std::string& new_id,
               const std::string& new_dc);

  uint32_t partition_count() const { return partitions_; }
  uint32_t replica_slots() const { return replicas_; }
  // Entries per partition list: min(replica_slots, members).
  uint32_t list_length() const { return width_; }

  uint32_t partition_of(uint64_t position) const {
    return shift_ == 64 ? 0 : static_cast<uint32_t>(position >> shift_);
  }
  uint32_t partition_of_key(std::string_view key) const;

  // The first hash position of partition p: partitions are contiguous
  // ranges [first_position(p), first_position(p + 1)).
  uint64_t first_position(uint32_t p) const {
    return shift_ == 64 ? 0 : uint64_t{p} << shift_;
  }

  // The last hash position of partition p.
  uint64_t last_position(uint32_t p) const {
    return p + 1 < partitions_ ? first_position(p + 1) - 1
                               : std::numeric_limits<uint64_t>::max();
  }

  // The replica nodes of partition p, primary first (indexes into members()).
  const uint16_t* replicas_of(uint32_t p) const {
    return slots_.data() + std::size_t{p} * width_;
  }

  // The ids of partition p's replicas, primary first.
  std::vector<std::string> replica_ids(uint32_t p) const;

  // The key's preference list: the first min(n, list_length) replicas of its
  // partition, then, if n asks for more, nodes met walking the following
  // partitions' lists (the same walk a sloppy quorum's fallbacks take).
  std::vector<std::string> preference_list(std::string_view key,
                                           uint32_t n) const;

  // Every member once: preference_list(key, n) followed by the rest in walk
  // order.
  std::vector<std::string> walk(std::string_view key, uint32_t n) const;

  const std::vector<member>& members() const { return members_; }
  const member* find(std::string_view node_id) const;
  std::size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }

  // Wire form of the assignment: list_length() entries per partition.
  const std::vector<uint16_t>& slots() const { return slots_; }

  // Replica slots held per member (all ranks), and primaries per member.
  std::vector<uint32_t> slot_counts() const;
  std::vector<uint32_t> primary_counts() const;

  friend bool operator==(const partition_map& a, const partition_map& b) {
    return a.partitions_ == b.partitions_ && a.replicas_ == b.replicas_
           && a.members_ == b.members_ && a.slots_ == b.slots_;
  }
  friend bool operator!=(const partition_map& a, const partition_map& b) {
    return !(a == b);
  }

private:
  uint16_t& slot(uint32_t p, uint32_t rank) {
    return slots_[std::size_t{p} * width_ + rank];
  }
  bool holds(uint32_t p, uint16_t m) const;
  // Distinct data centres of partition p's list, with member `out` replaced
  // by member `in` (pass out == in for the list as it is).
  uint32_t dcs_with(uint32_t p, uint16_t out, uint16_t in) const;
  void spread_to_new_dc(uint16_t joiner);
  void take_slots(uint16_t joiner, uint32_t target);
  void balance_primaries();
  void order_by_dc(uint32_t p);
  void walk_from(uint32_t p, std::size_t limit,
                 std::vector<std::string>& out) const;

  uint32_t partitions_;
  uint32_t replicas_;
  uint32_t shift_;
  uint32_t width_ = 0;
  std::vector<member> members_; // sorted by node id
  std::vector<uint16_t> slots_; // partitions_ * width_ member indexes
};

} // namespace kv
