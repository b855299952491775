#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/versioned_value.hpp"

namespace kv {

// A slice of one partition's records as a replica store scans them for a
// handoff: keys in position order with their whole sibling sets
// (tombstones included), so the receiver merges them like any replica's.
struct partition_chunk {
  std::vector<std::string> keys;
  std::vector<sibling_list> versions; // one entry per key
  // Where the next chunk starts (the stored key of the last entry); the
  // receiver passes it back. Meaningless once `done`.
  std::string resume_after;
  bool done = false; // the range holds nothing after these keys
};

// A chunk holds at most this many keys, and a store stops adding keys once
// it holds the caller's byte budget (always at least one key).
constexpr std::size_t max_chunk_keys = 4096;
constexpr uint32_t max_chunk_bytes = 16u << 20;

} // namespace kv
