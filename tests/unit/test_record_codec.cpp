#define BOOST_TEST_MODULE record_codec
#include <boost/test/unit_test.hpp>

#include <random>
#include <string>

#include "persistence/record_codec.hpp"
#include "persistence/storage_error.hpp"

using namespace kv;

namespace {

versioned_value make_value(const std::string& node, uint64_t counter,
                           std::string value, bool tombstone = false) {
  versioned_value v;
  v.origin = dot{node, counter};
  v.context = vector_clock({{node, counter, 1700000000000 + counter},
                          {"other", 7, 1700000000123}});
  v.timestamp_ms = 1700000000000 + counter;
  v.tombstone = tombstone;
  v.value = std::move(value);
  return v;
}

// versioned_value's operator== ignores wall clocks; a record must keep them.
void check_same(const versioned_value& x, const versioned_value& y) {
  BOOST_TEST((x == y));
  BOOST_TEST(x.timestamp_ms == y.timestamp_ms);
  BOOST_REQUIRE_EQUAL(x.context.size(), y.context.size());
  for (std::size_t i = 0; i < x.context.size(); ++i)
    BOOST_TEST(x.context.entries()[i].timestamp_ms
               == y.context.entries()[i].timestamp_ms);
}

void check_same(const sibling_list& xs, const sibling_list& ys) {
  BOOST_REQUIRE_EQUAL(xs.size(), ys.size());
  for (std::size_t i = 0; i < xs.size(); ++i)
    check_same(xs[i], ys[i]);
}

// Most cases are about the sibling list inside a key record.
std::string encode_siblings(const sibling_list& xs) {
  return encode_key_record(key_record{xs, 0});
}

sibling_list decode_siblings(std::string_view bytes) {
  return decode_key_record(bytes).siblings;
}

sibling_list round_trip(const sibling_list& xs) {
  return decode_siblings(encode_siblings(xs));
}

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::string result(n, '\0');
  for (auto& c : result)
    c = static_cast<char>(rng());
  return result;
}

// A small record with every field kind: the corruption tests try every byte.
sibling_list sample_siblings() {
  return {make_value("n1", 3, std::string("a\0b", 3)),
          make_value("n2", 1, "", true)};
}

hint sample_hint() {
  hint h;
  h.intended_owner = "node-7";
  h.key = std::string("k\0ey", 4);
  h.versions = sample_siblings();
  h.created_ms = 1700000000999;
  return h;
}

template <class Decode>
void require_corrupt(const std::string& bytes, Decode decode) {
  BOOST_CHECK_THROW(decode(bytes), corrupt_record_error);
}

} // namespace

BOOST_AUTO_TEST_SUITE(round_trips)

BOOST_AUTO_TEST_CASE(crc32_matches_the_standard_check_value) {
  BOOST_TEST(crc32("123456789") == 0xCBF43926u);
  BOOST_TEST(crc32("") == 0u);
  BOOST_TEST(crc32("6789", crc32("12345")) == 0xCBF43926u);
}

BOOST_AUTO_TEST_CASE(empty_list) {
  auto bytes = encode_siblings({});
  BOOST_TEST(static_cast<uint8_t>(bytes[0]) == record_format_version);
  BOOST_TEST(decode_siblings(bytes).empty());
}

BOOST_AUTO_TEST_CASE(values_and_tombstones) {
  check_same(sample_siblings(), round_trip(sample_siblings()));
}

BOOST_AUTO_TEST_CASE(empty_clock_and_zero_fields) {
  sibling_list xs(1);
  check_same(xs, round_trip(xs));
}

BOOST_AUTO_TEST_CASE(many_siblings) {
  sibling_list xs;
  for (uint64_t i = 1; i <= 500; ++i)
    xs.push_back(make_value("n" + std::to_string(i % 13), i,
                            "value-" + std::to_string(i), i % 7 == 0));
  check_same(xs, round_trip(xs));
}

BOOST_AUTO_TEST_CASE(binary_values_keep_every_byte) {
  std::string all_bytes;
  for (int i = 0; i < 256; ++i)
    all_bytes.push_back(static_cast<char>(i));
  sibling_list xs{make_value("n1", 1, all_bytes),
                  make_value("n1", 2, std::string(17, '\0'))};
  check_same(xs, round_trip(xs));
}

BOOST_AUTO_TEST_CASE(one_mebibyte_value) {
  std::mt19937_64 rng{42};
  sibling_list xs{make_value("n1", 1, random_bytes(rng, 1 << 20))};
  check_same(xs, round_trip(xs));
}

BOOST_AUTO_TEST_CASE(hints) {
  auto h = sample_hint();
  auto back = decode_hint(encode_hint(h));
  BOOST_TEST(back.intended_owner == h.intended_owner);
  BOOST_TEST(back.key == h.key);
  BOOST_TEST(back.created_ms == h.created_ms);
  check_same(h.versions, back.versions);
  auto empty = decode_hint(encode_hint(hint{}));
  BOOST_TEST(empty.key.empty());
  BOOST_TEST(empty.versions.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(corruption)

BOOST_AUTO_TEST_CASE(every_single_bit_flip_is_rejected) {
  auto good = encode_siblings(sample_siblings());
  for (std::size_t i = 0; i < good.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      require_corrupt(bad, decode_siblings);
    }
}

BOOST_AUTO_TEST_CASE(every_byte_replacement_is_rejected) {
  auto good = encode_hint(sample_hint());
  for (std::size_t i = 0; i < good.size(); ++i)
    for (int delta : {1, 0x55, 0xFF}) {
      auto bad = good;
      bad[i] = static_cast<char>(bad[i] + delta);
      require_corrupt(bad, decode_hint);
    }
}

BOOST_AUTO_TEST_CASE(truncation_at_every_length_is_rejected) {
  auto good = encode_siblings(sample_siblings());
  for (std::size_t n = 0; n < good.size(); ++n)
    require_corrupt(good.substr(0, n), decode_siblings);
  auto hint_bytes = encode_hint(sample_hint());
  for (std::size_t n = 0; n < hint_bytes.size(); ++n)
    require_corrupt(hint_bytes.substr(0, n), decode_hint);
}

BOOST_AUTO_TEST_CASE(appended_bytes_are_rejected) {
  auto bad = encode_siblings(sample_siblings()) + "x";
  require_corrupt(bad, decode_siblings);
}

BOOST_AUTO_TEST_CASE(messages_say_what_is_wrong) {
  auto good = encode_siblings(sample_siblings());
  auto message_of = [](const std::string& bytes) {
    try {
      decode_siblings(bytes);
    } catch (const corrupt_record_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  BOOST_TEST(message_of("abc") == "record truncated: 3 bytes");
  auto other_version = good;
  other_version[0] = 7;
  BOOST_TEST(message_of(other_version) == "unknown record format version 7");
  auto flipped = good;
  flipped.back() ^= 1;
  BOOST_TEST(message_of(flipped) == "record checksum mismatch");
}

// The checksum stops corruption before the decoder sees it; these records
// carry a valid checksum over a bad payload to test the decoder behind it.
std::string with_valid_header(const std::string& payload,
                              uint8_t version = record_format_version) {
  std::string record(1, static_cast<char>(version));
  auto crc = crc32(payload, crc32(record));
  for (int i = 0; i < 4; ++i)
    record.push_back(static_cast<char>((crc >> (8 * i)) & 0xFF));
  return record + payload;
}

BOOST_AUTO_TEST_CASE(huge_lengths_behind_a_valid_checksum_do_not_allocate) {
  // A sibling count of 2^62 with nothing after it.
  std::string payload(8, '\0');
  payload[7] = 0x40;
  BOOST_CHECK_THROW(decode_siblings(with_valid_header(payload)),
                    corrupt_record_error);
  // One sibling whose node name claims 2^60 bytes.
  std::string one(8, '\0');
  one[0] = 1;
  std::string node_size(8, '\0');
  node_size[7] = 0x10;
  BOOST_CHECK_THROW(decode_siblings(with_valid_header(one + node_size)),
                    corrupt_record_error);
}

BOOST_AUTO_TEST_CASE(bad_tombstone_flag_behind_a_valid_checksum) {
  auto good = encode_siblings({make_value("n", 1, "")});
  auto payload = good.substr(5);
  // The flag is the byte just before the value's (zero) length.
  auto flag_at = payload.size() - 8 - 1;
  BOOST_REQUIRE_EQUAL(payload[flag_at], 0);
  payload[flag_at] = 2;
  BOOST_CHECK_THROW(decode_siblings(with_valid_header(payload)),
                    corrupt_record_error);
}

BOOST_AUTO_TEST_CASE(random_garbage_always_throws) {
  std::mt19937_64 rng{7};
  for (int i = 0; i < 20000; ++i) {
    auto bytes = random_bytes(rng, rng() % 200);
    if (i % 2 == 0 && !bytes.empty())
      bytes[0] = static_cast<char>(record_format_version);
    require_corrupt(bytes, decode_siblings);
    require_corrupt(bytes, decode_hint);
  }
}

BOOST_AUTO_TEST_CASE(random_payloads_behind_a_valid_checksum_never_crash) {
  std::mt19937_64 rng{11};
  auto good = encode_siblings(sample_siblings()).substr(5);
  for (int i = 0; i < 20000; ++i) {
    // Mostly small mutations of a real payload, so decoding gets deep.
    auto payload = good;
    for (int n = 1 + rng() % 4; n > 0; --n)
      payload[rng() % payload.size()] = static_cast<char>(rng());
    payload.resize(rng() % (payload.size() + 1));
    try {
      decode_siblings(with_valid_header(payload));
    } catch (const corrupt_record_error&) {
      // expected for most
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(issued_counter_round_trips) {
  key_record record{sample_siblings(), 41};
  auto back = decode_key_record(encode_key_record(record));
  BOOST_TEST(back.issued == 41u);
  check_same(record.siblings, back.siblings);
}

BOOST_AUTO_TEST_CASE(version_one_records_still_read) {
  // Format 1 stored the sibling list alone: the same payload minus the
  // trailing issued counter.
  auto current = encode_key_record(key_record{sample_siblings(), 0});
  auto payload = current.substr(5, current.size() - 5 - sizeof(uint64_t));
  auto old = decode_key_record(corruption::with_valid_header(payload, 1));
  BOOST_TEST(old.issued == 0u);
  check_same(sample_siblings(), old.siblings);
  // And a format-2 reader refuses the same payload labelled 2 (truncated).
  BOOST_CHECK_THROW(decode_key_record(corruption::with_valid_header(payload, 2)),
                    corrupt_record_error);
}
