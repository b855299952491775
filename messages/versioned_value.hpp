#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/vector_clock.hpp"

namespace kv {

// One version of a key's value, as a dotted version: `origin` names the write
// that created it and `context` is what that write had seen (the client's
// causal context), which it supersedes. The origin is kept apart from the
// context because a plain vector cannot say "saw n1:2 but not n1:1": folding
// the dot in would make two blind writes through one node look ordered and
// drop one of them (Riak's dotted version vector fix, docs/versioning.md).
struct versioned_value {
  dot origin;
  vector_clock context;
  uint64_t timestamp_ms = 0; // coordinator wall clock, shown, never compared
  bool tombstone = false;    // a delete marker; `value` is empty
  std::string value;

  // The whole causal history: context plus origin. What the shell shows as
  // the version's clock.
  vector_clock history() const;

  friend bool operator==(const versioned_value& x, const versioned_value& y);
};

using sibling_list = std::vector<versioned_value>;

// Is `v` superseded by a write made with causal context `seen`?
inline bool obsoleted_by(const versioned_value& v, const vector_clock& seen) {
  return seen.covers(v.origin);
}

// Merges two sibling sets of the same key: keeps every version that no other
// version (in either set) has seen, once. Order of the result: by origin.
// Commutative and idempotent, and associative while no context was pruned.
// With pruned contexts the grouping can leave a false sibling (a version some
// other version did see, but whose pruned context no longer says so). It is
// an extra sibling, never a lost write: replicas still agree after a few
// exchanges, and the next put with the read context removes it.
sibling_list reconcile(const sibling_list& stored, const sibling_list& incoming);

// Builds the version for a new write coordinated by `node` on top of what the
// coordinating replica has stored. `context` is what the client read (empty for
// a blind write): the new version supersedes exactly the versions it covers.
// `issued` is the highest counter `node` has issued for this key (kept by the
// replica, since pruning may drop it from every stored context); the new
// counter is above it and above anything stored or in the context, so a dot
// is never reused while the replica keeps its data. Pruning the new context
// never drops an entry that supersedes a stored version, so a put with the
// read context always collapses the siblings it read. Counters in `context`
// must be below max_clock_counter (see context_problem).
versioned_value make_version(const sibling_list& stored, uint64_t issued,
                             const vector_clock& context,
                             const std::string& node, uint64_t now_ms,
                             bool tombstone, std::string value,
                             std::size_t max_clock_entries);

// The highest counter of `node` that any of `versions` has seen (as its
// origin or in its context).
uint64_t highest_counter(const sibling_list& versions, const std::string& node);

// The causal context a reader gets: the join of every sibling's history. A
// put carrying it supersedes all of them. Sound only over a complete sibling
// set of a replica (never a subset): replicas exchange whole sets for that.
vector_clock context_of(const sibling_list& siblings);

// Versions that hold a value (drops tombstones).
sibling_list live_values(const sibling_list& siblings);

} // namespace kv
