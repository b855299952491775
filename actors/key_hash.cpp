#include "actors/key_hash.hpp"

namespace kv {

uint64_t stable_hash(std::string_view bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

uint32_t store_shard_of(std::string_view key, uint32_t count) {
  // The ring uses the high bits of the hash; shards use the low ones so the
  // two choices stay independent.
  return count == 0 ? 0 : static_cast<uint32_t>(stable_hash(key) % count);
}

} // namespace kv
