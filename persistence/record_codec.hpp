#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "messages/membership.hpp"
#include "messages/versioned_value.hpp"

namespace kv {

// On-disk records: [format version: 1 byte][CRC-32 of version byte and
// payload: 4 bytes, little endian][payload: Cereal binary]. The version byte lets a later
// format read older records; the checksum catches torn or corrupted bytes
// before the decoder trusts any length field in them.
//   version 1: key record = siblings
//   version 2: key record = siblings, issued counter (written now)
constexpr uint8_t record_format_version = 2;

// What a replica stores under one key.
struct key_record {
  sibling_list siblings; // concurrent versions, tombstones included
  // The highest dot counter this node has issued for the key. Kept apart
  // from the versions because clock pruning may drop this node's entry from
  // every stored context, and a reused dot would let one write stand for
  // another. Local to the replica; never replicated.
  uint64_t issued = 0;
};

std::string encode_key_record(const key_record& record);

// Throws corrupt_record_error (never crashes, never allocates from a corrupt
// length) when `bytes` is truncated, fails its checksum, has an unknown
// version or does not decode. Reads every format version listed above.
key_record decode_key_record(std::string_view bytes);

std::string encode_hint(const hint& h);
hint decode_hint(std::string_view bytes);

// CRC-32 (IEEE); pass a previous result as `crc` to continue over more bytes.
uint32_t crc32(std::string_view bytes, uint32_t crc = 0);

} // namespace kv
