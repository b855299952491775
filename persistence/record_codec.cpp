#include "persistence/record_codec.hpp"

#include <array>
#include <istream>
#include <ostream>
#include <sstream>
#include <streambuf>
#include <type_traits>
#include <vector>

#include <cereal/archives/binary.hpp>

#include "persistence/storage_error.hpp"

namespace kv {

namespace {

// -- framing ------------------------------------------------------------------

constexpr std::size_t header_size = 5; // version byte + CRC-32

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit)
      c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr auto crc_table = make_crc_table();

// A read-only stream over the record's bytes that knows how many are left,
// so the decoder can refuse a length before allocating for it.
class span_buf : public std::streambuf {
public:
  explicit span_buf(std::string_view bytes) {
    // streambuf wants char*, but nothing here ever writes through it.
    auto first = const_cast<char*>(bytes.data());
    setg(first, first, first + bytes.size());
  }

  std::size_t remaining() const {
    return static_cast<std::size_t>(egptr() - gptr());
  }
};

// Cereal hands the load functions a BinaryInputArchive&; every one of them in
// this file is reached through this archive, so they may downcast to learn
// how many bytes are left.
class input_archive : public cereal::BinaryInputArchive {
public:
  input_archive(span_buf& buf, std::istream& in)
    : cereal::BinaryInputArchive(in), buf_(buf) {
    // nop
  }

  std::size_t remaining() const { return buf_.remaining(); }

private:
  span_buf& buf_;
};

// Integers are stored in host byte order (little endian on every target).
using output_archive = cereal::BinaryOutputArchive;

// Fails before reserving room for `count` items of at least `min_bytes`
// encoded bytes each when the rest of the record cannot hold them.
void require_bytes(cereal::BinaryInputArchive& ar, cereal::size_type count,
                   std::size_t min_bytes, const char* what) {
  auto left = static_cast<input_archive&>(ar).remaining();
  if (count > left / min_bytes)
    throw corrupt_record_error("record claims " + std::to_string(count) + " "
                               + what + " but has only "
                               + std::to_string(left) + " bytes left");
}

// -- field helpers ------------------------------------------------------------
// Strings and vectors go through these instead of cereal's std::string and
// std::vector support, which would resize to whatever length the bytes claim.

constexpr std::size_t size_tag_bytes = sizeof(cereal::size_type);

void save_bytes(output_archive& ar, const std::string& x) {
  ar(cereal::make_size_tag(static_cast<cereal::size_type>(x.size())));
  ar(cereal::binary_data(x.data(), x.size()));
}

void load_bytes(cereal::BinaryInputArchive& ar, std::string& x) {
  cereal::size_type size = 0;
  ar(cereal::make_size_tag(size));
  require_bytes(ar, size, 1, "string bytes");
  x.resize(static_cast<std::size_t>(size));
  ar(cereal::binary_data(x.data(), x.size()));
}

// Smallest encoding of one element, for bounding vector lengths.
template <class T>
constexpr std::size_t min_encoded_size();

template <>
constexpr std::size_t min_encoded_size<clock_entry>() {
  return size_tag_bytes + 2 * sizeof(uint64_t);
}

template <>
constexpr std::size_t min_encoded_size<versioned_value>() {
  // origin, clock, timestamp, tombstone, value
  return (size_tag_bytes + sizeof(uint64_t)) + size_tag_bytes
         + sizeof(uint64_t) + 1 + size_tag_bytes;
}

template <class T>
void save_vector(output_archive& ar, const std::vector<T>& xs) {
  ar(cereal::make_size_tag(static_cast<cereal::size_type>(xs.size())));
  for (auto& x : xs)
    ar(x);
}

template <class T>
void load_vector(cereal::BinaryInputArchive& ar, std::vector<T>& xs) {
  cereal::size_type size = 0;
  ar(cereal::make_size_tag(size));
  require_bytes(ar, size, min_encoded_size<T>(), "elements");
  xs.clear();
  xs.reserve(static_cast<std::size_t>(size));
  for (cereal::size_type i = 0; i < size; ++i) {
    xs.emplace_back();
    ar(xs.back());
  }
}

} // namespace

// -- cereal (de)serializers --------------------------------------------------
// In namespace kv so cereal finds them by ADL (an anonymous namespace would
// hide them); static so they never clash with another translation unit.

static void save(output_archive& ar, const dot& x) {
  save_bytes(ar, x.node);
  ar(x.counter);
}

static void load(cereal::BinaryInputArchive& ar, dot& x) {
  load_bytes(ar, x.node);
  ar(x.counter);
}

static void save(output_archive& ar, const clock_entry& x) {
  save_bytes(ar, x.node);
  ar(x.counter, x.timestamp_ms);
}

static void load(cereal::BinaryInputArchive& ar, clock_entry& x) {
  load_bytes(ar, x.node);
  ar(x.counter, x.timestamp_ms);
}

static void save(output_archive& ar, const vector_clock& x) {
  save_vector(ar, x.entries());
}

static void load(cereal::BinaryInputArchive& ar, vector_clock& x) {
  std::vector<clock_entry> entries;
  load_vector(ar, entries);
  x = vector_clock(std::move(entries));
}

static void save(output_archive& ar, const versioned_value& x) {
  ar(x.origin, x.context, x.timestamp_ms);
  // One explicit byte: reading an arbitrary byte into a bool is undefined.
  ar(static_cast<uint8_t>(x.tombstone ? 1 : 0));
  save_bytes(ar, x.value);
}

static void load(cereal::BinaryInputArchive& ar, versioned_value& x) {
  ar(x.origin, x.context, x.timestamp_ms);
  uint8_t tombstone = 0;
  ar(tombstone);
  if (tombstone > 1)
    throw corrupt_record_error("record has an invalid tombstone flag "
                               + std::to_string(tombstone));
  x.tombstone = tombstone == 1;
  load_bytes(ar, x.value);
}

static void save(output_archive& ar, const hint& x) {
  save_bytes(ar, x.intended_owner);
  save_bytes(ar, x.key);
  save_vector(ar, x.versions);
  ar(x.created_ms);
}

static void load(cereal::BinaryInputArchive& ar, hint& x) {
  load_bytes(ar, x.intended_owner);
  load_bytes(ar, x.key);
  load_vector(ar, x.versions);
  ar(x.created_ms);
}

namespace {

void save_payload(output_archive& ar, const key_record& x) {
  save_vector(ar, x.siblings);
  ar(x.issued);
}

void save_payload(output_archive& ar, const hint& x) {
  ar(x);
}

void load_payload(cereal::BinaryInputArchive& ar, uint8_t version,
                  key_record& x) {
  load_vector(ar, x.siblings);
  if (version >= 2)
    ar(x.issued);
}

void load_payload(cereal::BinaryInputArchive& ar, uint8_t, hint& x) {
  ar(x);
}

// The checksum covers the version byte too, so a flipped version cannot make
// a record parse under another layout.
uint32_t record_checksum(char version, std::string_view payload) {
  return crc32(payload, crc32(std::string_view{&version, 1}));
}

// The whole record is one value of type T: a key_record or a hint.
template <class T>
std::string encode_record(const T& x) {
  std::ostringstream out(std::ios::binary);
  const char header[header_size] = {}; // filled in once the CRC is known
  out.write(header, header_size);
  {
    output_archive ar(out);
    save_payload(ar, x);
  }
  auto result = out.str();
  result[0] = static_cast<char>(record_format_version);
  auto crc = record_checksum(result[0], std::string_view{result}.substr(header_size));
  for (int i = 0; i < 4; ++i)
    result[1 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  return result;
}

template <class T>
T decode_record(std::string_view bytes) {
  if (bytes.size() < header_size)
    throw corrupt_record_error("record truncated: "
                               + std::to_string(bytes.size()) + " bytes");
  auto version = static_cast<uint8_t>(bytes[0]);
  if (version == 0 || version > record_format_version)
    throw unknown_format_error("unknown record format version "
                               + std::to_string(version));
  uint32_t stored_crc = 0;
  for (int i = 0; i < 4; ++i)
    stored_crc |= uint32_t{static_cast<uint8_t>(bytes[1 + i])} << (8 * i);
  auto payload = bytes.substr(header_size);
  if (record_checksum(bytes[0], payload) != stored_crc)
    throw corrupt_record_error("record checksum mismatch");
  span_buf buf{payload};
  std::istream in(&buf);
  T result;
  try {
    input_archive ar(buf, in);
    load_payload(ar, version, result);
  } catch (const cereal::Exception& e) {
    throw corrupt_record_error(std::string("record does not decode: ")
                               + e.what());
  }
  if (buf.remaining() != 0)
    throw corrupt_record_error("record has " + std::to_string(buf.remaining())
                               + " trailing bytes");
  return result;
}

} // namespace

uint32_t crc32(std::string_view bytes, uint32_t crc) {
  uint32_t c = crc ^ 0xFFFFFFFFu;
  for (unsigned char b : bytes)
    c = crc_table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string encode_key_record(const key_record& record) {
  return encode_record(record);
}

key_record decode_key_record(std::string_view bytes) {
  return decode_record<key_record>(bytes);
}

std::string encode_hint(const hint& h) {
  return encode_record(h);
}

hint decode_hint(std::string_view bytes) {
  return decode_record<hint>(bytes);
}

} // namespace kv
