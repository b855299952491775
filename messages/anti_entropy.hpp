#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kv {

// The digests (see key_digest) of the records in a position range, in
// position order, as a replica store reads them for an anti-entropy
// exchange: what two replicas compare key by key once their trees point at
// a segment.
struct key_digests {
  std::vector<std::string> keys;
  std::vector<uint64_t> digests; // one per key
  std::string resume_after;      // stored key of the last entry
  bool done = false;             // nothing after these in the range
};

// At most this many partitions per roots request (a ring's most).
constexpr std::size_t max_roots_per_request = 65536;

// At most this many digests per reply.
constexpr std::size_t max_digests_per_reply = 4096;

// One partition's anti-entropy as a node's syncer last saw it.
struct aae_partition {
  uint32_t partition = 0;
  std::string peer;            // replica of the last exchange
  uint64_t last_exchange_ms = 0; // wall clock; 0: never
  uint64_t exchanges = 0;
  uint64_t keys_repaired = 0;  // keys whose versions moved, both directions
  uint64_t bytes = 0;          // hashes, digests and versions moved
  uint64_t digest_bytes = 0;   // of which tree hashes and key digests
  std::string tree;            // "ready", "building" (here or at the peer)
};

// Tombstone reaping as a node's reaper last saw it (see
// actors/antientropy/tombstone_reaper.hpp).
struct reap_status {
  std::string state;          // "off", "idle", "blocked: <why>", "checking"
  uint64_t last_cycle_ms = 0; // wall clock of the last cycle's end; 0: none
  uint64_t cycles = 0;
  uint64_t candidates = 0; // tombstones old enough, seen in the last cycle
  uint64_t pending = 0;    // agreed by every replica once, to confirm
  uint64_t reaped = 0;     // keys whose tombstones every node dropped
  uint64_t kept = 0;       // keys a replica changed meanwhile: not reaped
};

// At most this many keys per reap, digest or hint question.
constexpr std::size_t max_keys_per_reap = 1024;

} // namespace kv
