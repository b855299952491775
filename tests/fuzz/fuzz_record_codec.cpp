// libFuzzer target: the record codec reads bytes from disk, which a torn
// write or a bad sector can make arbitrary. Decoding must either succeed or
// throw corrupt_record_error; what decodes must survive a round trip.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "persistence/record_codec.hpp"
#include "persistence/storage_error.hpp"

namespace {

void require(bool condition) {
  if (!condition)
    std::abort();
}

// Random bytes almost never carry a valid CRC, so the payload decoder would
// stay unreached: the first input byte is taken as the version and the
// header is completed with the checksum the rest deserves.
std::string with_checksum(std::string_view input) {
  std::string record(1, input.empty() ? '\2' : input[0]);
  auto payload = input.empty() ? input : input.substr(1);
  auto crc = kv::crc32(payload, kv::crc32(record));
  for (int i = 0; i < 4; ++i)
    record += static_cast<char>((crc >> (8 * i)) & 0xFF);
  record.append(payload);
  return record;
}

void decode_key(std::string_view bytes) {
  try {
    auto record = kv::decode_key_record(bytes);
    auto again = kv::decode_key_record(kv::encode_key_record(record));
    require(again.siblings == record.siblings && again.issued == record.issued);
  } catch (const kv::corrupt_record_error&) {
    // the expected way to refuse bytes
  }
}

void decode_hint(std::string_view bytes) {
  try {
    auto h = kv::decode_hint(bytes);
    auto again = kv::decode_hint(kv::encode_hint(h));
    require(again.intended_owner == h.intended_owner && again.key == h.key
            && again.versions == h.versions && again.created_ms == h.created_ms);
  } catch (const kv::corrupt_record_error&) {
    // the expected way to refuse bytes
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  decode_key(input);
  decode_hint(input);
  auto sealed = with_checksum(input);
  decode_key(sealed);
  decode_hint(sealed);
  return 0;
}
