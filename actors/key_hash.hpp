#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kv {

// A 64-bit hash of key bytes that is the same on every node, build and run
// (unlike std::hash), so all nodes agree on placement: FNV-1a with a
// MurmurHash3 finaliser for avalanche.
uint64_t stable_hash(std::string_view bytes);

// Which of a node's `count` replica stores serves `key`. Every node computes
// the same answer, so all writes to a key on one node go through one store.
uint32_t store_shard_of(std::string_view key, uint32_t count);

// How the replica stores lay keys out on disk: the key's ring position as 8
// big-endian bytes, then the key. Keys are then sorted by position, so the
// keys of one partition (a contiguous position range) are one range scan.
constexpr std::size_t position_prefix_bytes = 8;
std::string position_bytes(uint64_t position);
std::string stored_key(std::string_view key);
// The key and position inside a stored key; nullopt if it is too short.
std::optional<uint64_t> position_in(std::string_view stored);
std::string_view key_in(std::string_view stored);

} // namespace kv
