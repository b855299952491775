#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/vector_clock.hpp"

namespace kv {

// One version of a key's value. Versions are dotted: `origin` names the write
// that created this version and `clock` is its whole causal history (the
// context the writer had seen, plus `origin`). A version is obsolete once some
// other version's clock covers its origin. Unlike plain vector clocks, two
// blind writes through the same node get distinct dots and so both survive as
// siblings (the Riak "dotted version vector" fix; see docs/versioning.md).
struct versioned_value {
  dot origin;
  vector_clock clock;
  uint64_t timestamp_ms = 0; // coordinator wall clock, shown, never compared
  bool tombstone = false;    // a delete marker; `value` is empty
  std::string value;

  friend bool operator==(const versioned_value& x, const versioned_value& y);
};

using sibling_list = std::vector<versioned_value>;

// Is `v` superseded by a version whose history is `history`?
inline bool obsoleted_by(const versioned_value& v, const vector_clock& history) {
  return history.covers(v.origin);
}

// Merges two sibling sets of the same key: keeps every version that no other
// version (in either set) has seen, once. Order of the result: by origin.
// Commutative, associative and idempotent, so replicas converge whatever
// order replication, read repair, hints and anti-entropy deliver in.
sibling_list reconcile(const sibling_list& stored, const sibling_list& incoming);

// Builds the version for a new write coordinated by `node` on top of what the
// coordinating replica has stored. `context` is what the client read (empty for
// a blind write): the new version supersedes exactly the versions it covers.
// The new counter for `node` is above everything `node` has issued for this
// key, so a dot is never reused while the replica keeps its data.
versioned_value make_version(const sibling_list& stored,
                             const vector_clock& context,
                             const std::string& node, uint64_t now_ms,
                             bool tombstone, std::string value,
                             std::size_t max_clock_entries);

// The causal context a reader gets: the join of every sibling's history. A
// put carrying it supersedes all of them.
vector_clock context_of(const sibling_list& siblings);

// Versions that hold a value (drops tombstones).
sibling_list live_values(const sibling_list& siblings);

} // namespace kv
