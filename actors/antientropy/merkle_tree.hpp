#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "messages/versioned_value.hpp"

namespace kv {

// What two replicas compare for one key: a 64-bit hash of the key and its
// whole sibling set, the same whatever order the versions were learned in
// (tombstones included). 0 means "no record" and is never a digest.
uint64_t key_digest(std::string_view key, const sibling_list& siblings);

// The shape every node agrees on: a partition's position range is cut into
// merkle_segments equal segments (the leaves), grouped merkle_fanout at a
// time up to one root. Fixed, not a setting: two trees only compare when
// their shapes match.
constexpr uint32_t merkle_fanout = 16;
constexpr uint32_t merkle_levels = 3; // root, 16 inner nodes, 256 leaves
constexpr uint32_t merkle_segments = 256;

// One partition's hash tree over the ring positions [first, last]. A node's
// hash is the XOR of the digests of every key below it, so a write updates
// one leaf in O(1) (out with the old digest, in with the new), and trees of
// disjoint key sets (one per store shard) combine by XOR into the node's.
class merkle_tree {
public:
  // The range must be aligned and a power of two wide, at least one
  // position per segment (see valid_range).
  merkle_tree(uint64_t first, uint64_t last);

  static bool valid_range(uint64_t first, uint64_t last);

  // Nodes at `level` (0: the root; merkle_levels - 1: the leaves).
  static uint32_t nodes_at(uint32_t level);

  uint64_t first() const { return first_; }
  uint64_t last() const { return last_; }
  bool contains(uint64_t position) const {
    return position >= first_ && position <= last_;
  }

  uint32_t segment_of(uint64_t position) const;
  // The positions segment `segment` covers, inclusive.
  std::pair<uint64_t, uint64_t> segment_range(uint32_t segment) const;

  // XORs `digest` into the leaf of `position`: adds a key's digest, or
  // removes it when it was there.
  void toggle(uint64_t position, uint64_t digest);

  // The hash of node `index` at `level`; nullopt when it does not exist.
  std::optional<uint64_t> node(uint32_t level, uint32_t index) const;

  void clear() {
    leaves_.fill(0);
    keys_ = 0;
  }

  // The keys below the tree: the digests it holds, counted as they come
  // and go (a digest of 0 is no key).
  uint64_t keys() const { return keys_; }
  void count_change(uint64_t before, uint64_t after) {
    if (before == 0 && after != 0)
      ++keys_;
    else if (before != 0 && after == 0 && keys_ > 0)
      --keys_;
  }

private:
  uint64_t first_;
  uint64_t last_;
  uint64_t keys_ = 0;
  unsigned segment_shift_;
  std::array<uint64_t, merkle_segments> leaves_{};
};

// The children, at level + 1, of node `index` at `level`.
std::vector<uint32_t> merkle_children(uint32_t level, uint32_t index);

// A store shard's trees, one per partition asked about, kept current by
// every write and built from the data in bounded steps: while a tree is
// built, a write below the build cursor updates it and one above does not
// (the build reads it later). Once the node's syncer has pinned the ring's
// partition width and the partitions this node holds, only trees of those
// are kept and made (their count bounds the memory: 2 KiB each). Before,
// the forest holds trees of at most two widths (a third evicts the one
// asked for least recently) and at most `max_trees` trees, the least
// recently asked for dropped first.
class merkle_forest {
public:
  struct settings {
    std::size_t max_trees = 8192;
    uint64_t rebuild_after_ms = uint64_t{7} * 24 * 3600 * 1000;
  };

  explicit merkle_forest(settings s);

  enum class status { ready, building, bad_range };

  // The tree of [first, last] if it is built; else starts (or continues) its
  // build. `now_ms` ages trees: one older than rebuild_after_ms is built
  // again from the data, which catches silent corruption.
  status ask(uint64_t first, uint64_t last, uint64_t now_ms);
  const merkle_tree* ready_tree(uint64_t first, uint64_t last) const;

  // A write changed a key: its digest goes from `before` to `after` (0 for
  // none). `stored_key` is its position-first storage key.
  void on_write(std::string_view stored_key, uint64_t position, uint64_t before,
                uint64_t after);

  // From now on only the partitions starting at `firsts`, each `span + 1`
  // wide (the ring's), have trees; the others are dropped and refused.
  // Ignored if the span is not a valid partition width.
  void pin(uint64_t span, const std::vector<uint64_t>& firsts);

  // A record vanished without a known digest (set aside as unreadable): the
  // tree holding it is built again.
  void invalidate(uint64_t position);

  // The next build step to do: the tree's range and where to resume
  // (the stored key last read; "" for the start). nullopt: nothing to build.
  struct build_step {
    uint64_t first;
    uint64_t last;
    std::string resume_after;
  };
  std::optional<build_step> next_build() const;
  // The build of the tree of [first, last] read records up to `stored_key`
  // and found `digests` (position, digest) of this shard's keys among them.
  void built_up_to(uint64_t first, uint64_t last, std::string_view stored_key,
                   const std::vector<std::pair<uint64_t, uint64_t>>& digests);
  void build_done(uint64_t first, uint64_t last, uint64_t now_ms);

  std::size_t size() const;
  std::size_t building() const;

  // The keys of this shard in the partitions this node holds (once
  // pinned), and whether the count is complete: every held partition has a
  // built tree. Trees are what counts them, so nothing is scanned for it.
  struct key_count {
    uint64_t keys = 0;
    bool complete = false;
  };
  key_count keys() const;

private:
  struct entry {
    merkle_tree tree;
    bool ready = false;
    std::string cursor; // stored key the build has read up to
    uint64_t built_ms = 0;
    uint64_t last_asked = 0;
  };
  using trees_by_index = std::unordered_map<uint64_t, entry>;
  struct width_group {
    unsigned bits = 0; // log2 of the trees' width (64: the whole ring)
    uint64_t last_asked = 0;
    trees_by_index trees; // by first position >> bits
  };
  entry* find(width_group& group, uint64_t position);
  entry* find_tree(uint64_t first, uint64_t last);
  void start(entry& e);
  void evict_one();

  settings settings_;
  uint64_t asks_ = 0;
  std::vector<width_group> groups_; // at most two
  std::optional<unsigned> pinned_;  // the only width once set
  std::unordered_set<uint64_t> held_; // first positions, once pinned
};

} // namespace kv
