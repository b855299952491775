// The Redis gateway's pure parts: the RESP reader and writers, and what
// its commands mean (SET's options, KV.CONSISTENCY, the sibling GET shows,
// INFO).
#define BOOST_TEST_MODULE resp_codec
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "actors/gateway/redis_commands.hpp"
#include "actors/gateway/resp_codec.hpp"

using namespace kv;
using status = resp::reader::status;
using args_t = std::vector<std::string>;

namespace {

// Every command in `bytes`, fed in pieces of `piece` bytes.
std::vector<args_t> read_all(const std::string& bytes, std::size_t piece,
                             resp::reader& reader, status& last) {
  std::vector<args_t> commands;
  args_t args;
  for (std::size_t at = 0; at < bytes.size(); at += piece) {
    auto size = std::min(piece, bytes.size() - at);
    reader.feed(bytes.data() + at, size);
    while ((last = reader.next(args)) == status::command)
      commands.push_back(args);
    if (last == status::protocol_error)
      break;
  }
  return commands;
}

std::vector<args_t> read_all(const std::string& bytes, std::size_t piece = 1 << 20) {
  resp::reader reader;
  status last = status::incomplete;
  auto commands = read_all(bytes, piece, reader, last);
  BOOST_TEST((last == status::incomplete));
  return commands;
}

std::string protocol_error_of(const std::string& bytes,
                              resp::reader_limits limits = {}) {
  resp::reader reader{limits};
  status last = status::incomplete;
  read_all(bytes, 1 << 20, reader, last);
  BOOST_TEST((last == status::protocol_error));
  return reader.error();
}

} // namespace

BOOST_AUTO_TEST_CASE(pipelined_multibulk_commands_in_any_pieces) {
  std::string bytes = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nx!\r\n"
                      "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
                      "*1\r\n$0\r\n\r\n";
  std::vector<args_t> expected{{"SET", "k", "v\r\nx!"}, {"GET", "k"}, {""}};
  for (std::size_t piece : {1, 2, 3, 7, 1000}) {
    BOOST_TEST_CONTEXT("pieces of " << piece) {
      auto got = read_all(bytes, piece);
      BOOST_TEST((got == expected));
    }
  }
}

BOOST_AUTO_TEST_CASE(inline_commands_split_like_redis) {
  auto got = read_all("PING\r\nset k \"a b\\x41\\n\" 'it\\'s'\n\r\n  \nget k\n");
  std::vector<args_t> expected{
    {"PING"}, {"set", "k", "a bA\n", "it's"}, {"get", "k"}};
  BOOST_TEST((got == expected));
  BOOST_TEST(protocol_error_of("set \"open\n")
             == "Protocol error: unbalanced quotes in request");
}

BOOST_AUTO_TEST_CASE(empty_arrays_are_skipped) {
  auto got = read_all("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n");
  BOOST_TEST((got == std::vector<args_t>{{"PING"}}));
}

BOOST_AUTO_TEST_CASE(malformed_streams_get_redis_protocol_errors) {
  BOOST_TEST(protocol_error_of("*x\r\n")
             == "Protocol error: invalid multibulk length");
  BOOST_TEST(protocol_error_of("*1\r\n:5\r\n")
             == "Protocol error: expected '$', got ':'");
  BOOST_TEST(protocol_error_of("*1\r\n$-2\r\n")
             == "Protocol error: invalid bulk length");
  BOOST_TEST(protocol_error_of("*1\r\n$2\r\nabc\r\n")
             == "Protocol error: bulk string not terminated by CRLF");
  BOOST_TEST(protocol_error_of("*1" + std::string(100, '1'))
             == "Protocol error: too big mbulk count string");
}

// Found by fuzz_resp_reader: a header line without its CRLF was judged by
// the bytes that had arrived, so splitting a stream changed the error.
BOOST_AUTO_TEST_CASE(a_long_header_line_fails_alike_however_split) {
  std::string bytes = "*\x02*" + std::string(24, '\n') + "\x10\n*-11\r\n";
  for (std::size_t piece : {1, 3, 1000}) {
    resp::reader reader;
    status last = status::incomplete;
    read_all(bytes, piece, reader, last);
    BOOST_TEST((last == status::protocol_error));
    BOOST_TEST(reader.error() == "Protocol error: too big mbulk count string");
  }
}

BOOST_AUTO_TEST_CASE(bounds_are_checked_before_anything_is_held) {
  resp::reader_limits limits;
  limits.max_arguments = 4;
  limits.max_bulk_bytes = 10;
  limits.max_command_bytes = 40;
  limits.max_inline_bytes = 16;
  BOOST_TEST(protocol_error_of("*5\r\n", limits)
             == "Protocol error: invalid multibulk length");
  // The length alone is refused: nothing of the 11 bytes has arrived.
  BOOST_TEST(protocol_error_of("*1\r\n$11\r\n", limits)
             == "Protocol error: invalid bulk length");
  BOOST_TEST(protocol_error_of("*4\r\n$10\r\n0123456789\r\n$10\r\n"
                               "0123456789\r\n$10\r\n",
                               limits)
             == "Protocol error: command larger than 40 bytes");
  BOOST_TEST(protocol_error_of(std::string(17, 'a'), limits)
             == "Protocol error: too big inline request");
  // After an error the stream stays unreadable.
  resp::reader reader{limits};
  reader.feed("*x\r\n*1\r\n$4\r\nPING\r\n", 19);
  args_t args;
  BOOST_TEST((reader.next(args) == status::protocol_error));
  BOOST_TEST((reader.next(args) == status::protocol_error));
}

BOOST_AUTO_TEST_CASE(a_command_waits_for_its_last_byte) {
  resp::reader reader;
  std::string bytes = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
  args_t args;
  for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
    reader.feed(&bytes[i], 1);
    BOOST_TEST((reader.next(args) == status::incomplete));
  }
  reader.feed(&bytes.back(), 1);
  BOOST_TEST((reader.next(args) == status::command));
  BOOST_TEST((args == args_t{"GET", "key"}));
  BOOST_TEST(reader.buffered() == 0u);
}

// Second review: a burst's buffer stayed with a connection that went idle.
BOOST_AUTO_TEST_CASE(an_idle_reader_gives_a_burst_s_memory_back) {
  resp::reader reader;
  std::string value(1 << 20, 'v');
  auto bytes = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + std::to_string(value.size())
               + "\r\n" + value + "\r\n";
  reader.feed(bytes.data(), bytes.size());
  args_t args;
  BOOST_TEST((reader.next(args) == status::command));
  BOOST_TEST(reader.buffered() == 0u);
  BOOST_TEST(reader.held() <= 64u * 1024u);
}

BOOST_AUTO_TEST_CASE(writers_speak_resp2_and_resp3) {
  std::string out;
  resp::simple(out, "OK");
  resp::error(out, "ERR two\r\nlines");
  resp::integer(out, -3);
  resp::bulk(out, "a\r\nb");
  resp::null(out, 2);
  resp::null(out, 3);
  resp::null_array(out, 2);
  BOOST_TEST(out == "+OK\r\n-ERR two  lines\r\n:-3\r\n$4\r\na\r\nb\r\n$-1\r\n"
                    "_\r\n*-1\r\n");
  std::string map2, map3;
  resp::map(map2, 2, 2);
  resp::map(map3, 2, 3);
  BOOST_TEST(map2 == "*4\r\n");
  BOOST_TEST(map3 == "%2\r\n");
  std::string text;
  resp::verbatim(text, "hi", 3);
  BOOST_TEST(text == "=6\r\ntxt:hi\r\n");
}

BOOST_AUTO_TEST_CASE(set_options) {
  redis::set_request how;
  args_t args{"SET", "k", "v", "nx", "GET", "keepttl"};
  BOOST_TEST(!redis::parse_set_options(args, 3, how).has_value());
  BOOST_TEST((how.when == redis::set_request::condition::if_absent));
  BOOST_TEST(how.return_old);
  redis::set_request both;
  BOOST_TEST(*redis::parse_set_options({"SET", "k", "v", "NX", "XX"}, 3, both)
             == "syntax error");
  redis::set_request expiring;
  auto refused = redis::parse_set_options({"SET", "k", "v", "EX", "10"}, 3,
                                          expiring);
  BOOST_TEST(refused->find("never expire") != std::string::npos);
  redis::set_request unknown;
  BOOST_TEST(*redis::parse_set_options({"SET", "k", "v", "FOO"}, 3, unknown)
             == "syntax error");
}

BOOST_AUTO_TEST_CASE(consistency_takes_numbers_and_names) {
  request_options options;
  BOOST_TEST(!redis::parse_consistency({"KV.CONSISTENCY", "3", "quorum", "one"},
                                       1, options)
                .has_value());
  BOOST_TEST(options.n == 3u);
  BOOST_TEST(options.r == level_quorum);
  BOOST_TEST(options.w == 1u);
  BOOST_TEST(redis::describe_consistency(options) == "n=3 r=quorum w=1");
  BOOST_TEST(
    !redis::parse_consistency({"x", "default", "all", "2"}, 1, options)
       .has_value());
  BOOST_TEST(redis::describe_consistency(options) == "n=default r=all w=2");
  auto before = options;
  BOOST_TEST(redis::parse_consistency({"x", "3", "0", "1"}, 1, options).has_value());
  BOOST_TEST(redis::parse_consistency({"x", "quorum", "1", "1"}, 1, options).has_value());
  BOOST_TEST(redis::parse_consistency({"x", "3", "1"}, 1, options).has_value());
  BOOST_TEST(redis::parse_consistency({"x", "3", "1", "65"}, 1, options).has_value());
  BOOST_TEST(redis::describe_consistency(options)
             == redis::describe_consistency(before));
}

BOOST_AUTO_TEST_CASE(get_picks_the_same_sibling_whatever_the_order) {
  versioned_value older{dot{"n1", 5}, {}, 1000, false, "older"};
  versioned_value newer{dot{"n2", 1}, {}, 2000, false, "newer"};
  versioned_value tie{dot{"n3", 1}, {}, 2000, false, "tie"};
  versioned_value gone{dot{"n4", 1}, {}, 9000, true, ""};
  BOOST_TEST(redis::pick_sibling({older, newer, tie, gone})->value == "tie");
  BOOST_TEST(redis::pick_sibling({gone, tie, newer, older})->value == "tie");
  BOOST_TEST(redis::pick_sibling({older})->value == "older");
  BOOST_TEST(redis::pick_sibling({gone}) == nullptr);
  BOOST_TEST(redis::pick_sibling({}) == nullptr);
}

BOOST_AUTO_TEST_CASE(command_table_and_arity) {
  auto set = redis::find_command("sEt");
  BOOST_REQUIRE(set);
  BOOST_TEST(!redis::arity_fits(*set, 2));
  BOOST_TEST(redis::arity_fits(*set, 5));
  auto get = redis::find_command("GET");
  BOOST_REQUIRE(get);
  BOOST_TEST(redis::arity_fits(*get, 2));
  BOOST_TEST(!redis::arity_fits(*get, 3));
  BOOST_TEST(redis::find_command("FLUSHALL") == nullptr);
}

BOOST_AUTO_TEST_CASE(info_sections) {
  redis::gateway_figures gateway;
  gateway.connected_clients = 7;
  gateway.sibling_picks = 2;
  node_stats node;
  node.node_id = "n1";
  node.store.keys = 10;
  node.store.tombstones = 3;
  redis::cluster_figures cluster{3, 2, "n1", "dc1"};
  auto all = redis::info_text("", gateway, node, cluster);
  for (auto line : {"# Server", "redis_version:7.0.0", "connected_clients:7",
                    "get_sibling_picks:2", "db0:keys=7,expires=0,avg_ttl=0",
                    "cluster_enabled:0", "kvactors_members_up:2"})
    BOOST_TEST(all.find(line) != std::string::npos, line);
  auto keyspace = redis::info_text("KEYSPACE", gateway, node, cluster);
  BOOST_TEST(keyspace == "# Keyspace\r\ndb0:keys=7,expires=0,avg_ttl=0\r\n");
  BOOST_TEST(redis::info_text("nonsense", gateway, node, cluster).empty());
}
