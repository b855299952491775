#pragma once

#include <cstdint>
#include <string_view>

namespace kv {

// A 64-bit hash of key bytes that is the same on every node, build and run
// (unlike std::hash), so all nodes agree on placement: FNV-1a with a
// MurmurHash3 finaliser for avalanche.
uint64_t stable_hash(std::string_view bytes);

// Which of a node's `count` replica stores serves `key`. Every node computes
// the same answer, so all writes to a key on one node go through one store.
uint32_t store_shard_of(std::string_view key, uint32_t count);

} // namespace kv
