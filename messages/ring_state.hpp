#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kv {

// One partition assignment as it travels and is saved: members (node id and
// data centre, sorted by id) and, per partition, its replica list as
// indexes into the members (list length min(replicas, members)).
struct ring_assignment {
  std::vector<std::string> ids;
  std::vector<std::string> dcs;
  std::vector<uint16_t> slots;

  bool empty() const { return ids.empty(); }
  friend bool operator==(const ring_assignment& a, const ring_assignment& b) {
    return a.ids == b.ids && a.dcs == b.dcs && a.slots == b.slots;
  }
  friend bool operator!=(const ring_assignment& a, const ring_assignment& b) {
    return !(a == b);
  }
};

// The cluster's ring: which nodes hold which partitions, and the change in
// transfer, if any. Only the claimant (docs/ring.md) makes a new version;
// every other node takes the highest version it hears of, saves it, and
// never serves with an older one again.
struct ring_state {
  uint64_t version = 0; // 0: no ring yet
  std::string claimant; // the node that made this version
  // Names the cluster: drawn when its first ring is made and kept by every
  // later version. Versions of two clusters do not compare, so a node
  // never takes a ring (or a card) of another cluster than its own. Empty
  // in rings saved before clusters were named; the claimant names those.
  std::string cluster;
  uint32_t partitions = 0;
  uint32_t replicas = 0;
  ring_assignment current; // who serves reads and coordinates writes
  // While nodes take over partitions: the assignment after the change.
  // Writes go to both; `transition` is the version that started it (the
  // receivers report it when their copies are complete), 0 when none.
  ring_assignment next;
  uint64_t transition = 0;
  // Right after a change completes: the assignment before it. Until every
  // node routes with this version, some still read from the old owners, so
  // writes keep reaching them too (read and write quorums intersect across
  // the switch). A removal may start meanwhile: then both are set.
  ring_assignment previous;
  // Nodes an operator removed, as "id/incarnation": that process is never
  // taken back (a new incarnation may join again).
  std::vector<std::string> removed;

  friend bool operator==(const ring_state& a, const ring_state& b) {
    return a.version == b.version && a.claimant == b.claimant
           && a.cluster == b.cluster
           && a.partitions == b.partitions && a.replicas == b.replicas
           && a.current == b.current && a.next == b.next
           && a.previous == b.previous
           && a.transition == b.transition && a.removed == b.removed;
  }
  friend bool operator!=(const ring_state& a, const ring_state& b) {
    return !(a == b);
  }
};

// Bounds on a ring from the wire: far above what we run, low enough that a
// hostile peer cannot make a node hold much.
constexpr std::size_t max_ring_members = 4096;
constexpr std::size_t max_ring_removed = 4096;
// A version above this is refused: the claimant's next version must never
// wrap (one change a millisecond for a million years stays far below).
constexpr uint64_t max_ring_version = uint64_t{1} << 62;

// A cluster name: 1 to 64 letters, digits, '-' or '_'.
bool valid_cluster_id(const std::string& id);

// Whether nodes holding these cluster names may exchange rings and cards:
// the same name, or a side with none yet (a node that has not joined, or a
// ring from before names).
bool same_cluster(const std::string& a, const std::string& b);

// The members of a ring: now, after the change in transfer, and before the
// last one (while it drains); sorted, each once.
std::vector<std::string> ring_member_ids(const ring_state& ring);

// Whether `id` is among them.
bool on_ring(const ring_state& ring, const std::string& id);

// Which of two rings every node keeps (both of one cluster): the higher
// version; at equal versions (two claimants acted at once, which readiness
// rules out but a partition might not) a named one over an unnamed one, then
// the one made by the smaller node id, then the smaller content, so all
// nodes pick the same one.
bool supersedes(const ring_state& candidate, const ring_state& held);

// Why a ring from the wire (or a file) is unusable, if it is: shape, sizes,
// ids, slot indexes, duplicates within a list.
std::optional<std::string> ring_problem(const ring_state& ring);

// Why an assignment is unusable for a ring of that shape, if it is:
// `partitions` a power of two up to 65536, `replicas` 1..16, ids valid and
// sorted without repeats, one valid DC per id, min(replicas, ids) slots per
// partition, each naming a member, none twice in one list.
std::optional<std::string> assignment_problem(uint32_t partitions,
                                              uint32_t replicas,
                                              const ring_assignment& a);

} // namespace kv
