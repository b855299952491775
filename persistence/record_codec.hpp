#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "messages/membership.hpp"
#include "messages/versioned_value.hpp"

namespace kv {

// On-disk records: [format version: 1 byte][CRC-32 of payload: 4 bytes,
// little endian][payload: Cereal binary]. The version byte lets a later
// format read older records; the checksum catches torn or corrupted bytes
// before the decoder trusts any length field in them.
constexpr uint8_t record_format_version = 1;

// The versions stored under one key (siblings and tombstones).
std::string encode_siblings(const sibling_list& siblings);

// Throws corrupt_record_error (never crashes, never allocates from a corrupt
// length) when `bytes` is truncated, fails its checksum, has an unknown
// version or does not decode.
sibling_list decode_siblings(std::string_view bytes);

std::string encode_hint(const hint& h);
hint decode_hint(std::string_view bytes);

uint32_t crc32(std::string_view bytes);

} // namespace kv
