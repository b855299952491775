#pragma once

// The rules of tombstone reaping, as plain functions and one small class
// the reaper actor and the replica store use (no CAF): when no tombstone may
// go, which keys every replica agrees on, and which records a reap drops.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "actors/ring/ring.hpp"
#include "messages/membership.hpp"
#include "messages/versioned_value.hpp"

namespace kv {

// Whether `versions` is a non-empty set of tombstones only: what a record
// must hold to be a reaping candidate.
bool only_tombstones(const sibling_list& versions);

// Whether a record holding `stored` may be dropped in favour of the
// tombstones `reaped`: merged with them, it is exactly them, so it holds
// nothing newer or concurrent (a write the delete did not see survives).
bool superseded_by(const sibling_list& stored, const sibling_list& reaped);

// A member that can hold nothing the cluster still needs: this process
// (incarnation) was removed or left the ring, and it is down. A leaver that
// still runs (it may hold hints) and a removed process that runs again
// still count.
bool gone_for_good(const ring& current, const member_info& m);

// Why no tombstone may be reaped now, or nothing. A tombstone goes only
// while the ring is settled (no change in transfer or draining, so no
// handoff carries an older version) and every member but those gone for
// good is up and holds this ring version: a node that cannot be asked may
// hold an older version, or hints of one.
std::optional<std::string> reap_blocker(const ring& current,
                                        const std::vector<member_info>& members,
                                        const std::string& self_id);

// The replicas' answers about a batch of candidate tombstones: a key stays
// agreed while every replica's digest of it equals the candidate's and no
// hint for it is held anywhere.
class reap_agreement {
public:
  // `expected[i]`: the digest of key i's candidate tombstones.
  explicit reap_agreement(std::vector<uint64_t> expected);

  // One replica's digests (one per key; 0: no record) and the indices of
  // the keys whose record it lost. A malformed answer disagrees on all.
  void replica_answer(const std::vector<uint64_t>& digests,
                      const std::vector<uint32_t>& lost);

  // The keys at `indices` are not agreed (a node holds hints for them).
  void disagree(const std::vector<uint32_t>& indices);

  // A replica did not answer: nothing is agreed.
  void no_answer();

  // Indices of the keys still agreed.
  std::vector<uint32_t> agreed() const;

private:
  std::vector<uint64_t> expected_;
  std::vector<bool> agreed_;
};

} // namespace kv
