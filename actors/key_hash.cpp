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

std::string position_bytes(uint64_t position) {
  std::string out(position_prefix_bytes, '\0');
  for (std::size_t i = 0; i < position_prefix_bytes; ++i)
    out[i] = static_cast<char>(position >> (8 * (position_prefix_bytes - 1 - i)));
  return out;
}

std::string stored_key(std::string_view key) {
  auto out = position_bytes(stable_hash(key));
  out.append(key);
  return out;
}

std::optional<uint64_t> position_in(std::string_view stored) {
  if (stored.size() < position_prefix_bytes)
    return std::nullopt;
  uint64_t position = 0;
  for (std::size_t i = 0; i < position_prefix_bytes; ++i)
    position = (position << 8) | static_cast<unsigned char>(stored[i]);
  return position;
}

std::string_view key_in(std::string_view stored) {
  return stored.size() < position_prefix_bytes
           ? std::string_view{}
           : stored.substr(position_prefix_bytes);
}

} // namespace kv
