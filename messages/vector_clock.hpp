#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kv {

// One write event: the `counter`-th write coordinated by `node`.
struct dot {
  std::string node;
  uint64_t counter = 0;

  friend bool operator==(const dot& x, const dot& y) {
    return x.counter == y.counter && x.node == y.node;
  }
  friend bool operator!=(const dot& x, const dot& y) { return !(x == y); }
};

struct clock_entry {
  std::string node;
  uint64_t counter = 0;
  // Wall clock (ms since epoch) of the entry's latest increment. Used only to
  // pick the oldest entries when pruning, never to order versions.
  uint64_t timestamp_ms = 0;
};

// Counters at or above this are refused (contexts from clients, tokens), so
// issuing the next counter can never wrap around.
constexpr uint64_t max_clock_counter = uint64_t{1} << 62;

enum class causal_order { equal, before, after, concurrent };

const char* to_string(causal_order x);

// A version vector: per node, how many writes it coordinated that this
// version has seen. Entries are kept sorted by node with positive counters.
class vector_clock {
public:
  vector_clock() = default;

  // Accepts entries in any order; duplicates keep the larger counter and
  // zero counters are dropped.
  explicit vector_clock(std::vector<clock_entry> entries);

  const std::vector<clock_entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }

  uint64_t counter(std::string_view node) const;

  // Has this clock seen the write `d`?
  bool covers(const dot& d) const { return counter(d.node) >= d.counter; }

  causal_order compare(const vector_clock& other) const;

  // True if this clock has seen everything `other` has (after or equal).
  bool descends(const vector_clock& other) const;

  // Pointwise maximum; the timestamp follows the larger counter.
  void merge(const vector_clock& other);

  // Records one more write coordinated by `node` and returns its dot.
  dot increment(const std::string& node, uint64_t now_ms);

  // Raises `node`'s entry to `counter` (never lowers it).
  void advance(const std::string& node, uint64_t counter, uint64_t now_ms);

  // Drops the entries with the oldest timestamps until at most `max_entries`
  // remain; the entries of nodes in `keep` are never dropped (so more may
  // remain). Returns how many entries were removed. Pruning forgets history,
  // so a pruned clock may later look concurrent with a version it actually
  // descends from: a false conflict (an extra sibling), never a lost write.
  std::size_t prune(std::size_t max_entries,
                    const std::vector<std::string_view>& keep);
  std::size_t prune(std::size_t max_entries, std::string_view keep = {}) {
    return prune(max_entries, std::vector<std::string_view>{keep});
  }

  // The largest counter of any entry (0 for the empty clock).
  uint64_t max_counter() const;

  // "{n1:3, n2:1}"
  std::string to_string() const;

  // A compact text form that keeps timestamps: "n1:3@1700000000000,n2:1@0".
  // The empty clock is the empty string.
  std::string to_token() const;
  static std::optional<vector_clock> from_token(std::string_view token);

  friend bool operator==(const vector_clock& x, const vector_clock& y);
  friend bool operator!=(const vector_clock& x, const vector_clock& y) {
    return !(x == y);
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f,
                                                 vector_clock& x);

private:
  std::vector<clock_entry> entries_;
};

// Node ids appear in clocks and tokens: letters, digits, '_', '-' and '.',
// 1 to 64 characters.
bool valid_node_id(std::string_view id);

// Who issues dots and owns clock entries: a node id, or a node id with its
// incarnation, "<node-id>/<1 to 20 digits>" (a node that lost its data comes
// back under a new incarnation so it can never reuse a dot).
bool valid_replica_id(std::string_view id);

} // namespace kv
