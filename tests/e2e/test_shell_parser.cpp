#define BOOST_TEST_MODULE shell_parser
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include <ostream>
#include <string>
#include <vector>

#include "apps/kvsh/shell_args.hpp"
#include "apps/kvsh/shell_format.hpp"
#include "apps/kvsh/shell_parser.hpp"
#include "messages/limits.hpp"

namespace kv {

// Boost.Test prints both sides of a failed comparison.
std::ostream& operator<<(std::ostream& os, command_kind x) {
  return os << "command_kind(" << static_cast<int>(x) << ")";
}

std::ostream& operator<<(std::ostream& os, context_source x) {
  return os << "context_source(" << static_cast<int>(x) << ")";
}

} // namespace kv

using namespace kv;

namespace {

using strings = std::vector<std::string>;

strings tokens_of(std::string_view line) {
  auto result = tokenize(line);
  BOOST_TEST_REQUIRE(!result.error.has_value(), "unexpected error: "
                                                  << result.error.value_or(""));
  return result.tokens;
}

std::string error_of(std::string_view line) {
  auto result = parse_command(line);
  BOOST_TEST_REQUIRE(result.error.has_value(), "no error for: " << line);
  BOOST_TEST(result.command.kind == command_kind::none);
  return *result.error;
}

shell_command command_of(std::string_view line) {
  auto result = parse_command(line);
  BOOST_TEST_REQUIRE(!result.error.has_value(), "unexpected error: "
                                                  << result.error.value_or(""));
  return result.command;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

versioned_value version(std::string value, uint64_t counter, uint64_t ts) {
  versioned_value v;
  v.origin = dot{"n1", counter};
  v.context = vector_clock{{clock_entry{"n1", counter - 1, ts}}};
  v.timestamp_ms = ts;
  v.value = std::move(value);
  return v;
}

} // namespace

BOOST_AUTO_TEST_SUITE(tokenizer)

BOOST_AUTO_TEST_CASE(splits_at_any_run_of_blanks) {
  BOOST_TEST(tokens_of("  put\tk   v \r") == (strings{"put", "k", "v"}),
             boost::test_tools::per_element());
  BOOST_TEST(tokens_of("").empty());
  BOOST_TEST(tokens_of(" \t ").empty());
}

BOOST_AUTO_TEST_CASE(quotes_keep_blanks_and_allow_empty_tokens) {
  BOOST_TEST(tokens_of(R"(put k "hello  world")")
               == (strings{"put", "k", "hello  world"}),
             boost::test_tools::per_element());
  BOOST_TEST(tokens_of(R"(put "" "")") == (strings{"put", "", ""}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(quoted_and_bare_parts_join) {
  BOOST_TEST(tokens_of(R"(ctx="a b"c d)") == (strings{"ctx=a bc", "d"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(escapes_inside_quotes) {
  BOOST_TEST(tokens_of(R"("q\"b\\s\n\r\t\x41\x7e")")
               == (strings{"q\"b\\s\n\r\tA~"}),
             boost::test_tools::per_element());
  auto nul = tokens_of(R"("a\0b")");
  BOOST_TEST(nul.at(0) == std::string("a\0b", 3));
}

BOOST_AUTO_TEST_CASE(backslash_is_plain_outside_quotes) {
  BOOST_TEST(tokens_of(R"(put k C:\dir\n)")
               == (strings{"put", "k", R"(C:\dir\n)"}),
             boost::test_tools::per_element());
}

// Issue 12: the README's own session had trailing comments, which were
// taken as arguments. An unquoted # at the start of a token starts a
// comment; inside a word or quoted it is a character.
BOOST_AUTO_TEST_CASE(hash_starts_a_comment_at_the_start_of_a_token) {
  BOOST_TEST(tokens_of("   # put k v").empty());
  BOOST_TEST(tokens_of("put k v   # the first key") == (strings{"put", "k", "v"}),
             boost::test_tools::per_element());
  BOOST_TEST(tokens_of("put k a#b \"#c\"") == (strings{"put", "k", "a#b", "#c"}),
             boost::test_tools::per_element());
  auto cmd = parse_command("get user:1 r=2 # read it back");
  BOOST_TEST_REQUIRE(!cmd.error.has_value());
  BOOST_TEST(cmd.command.key == "user:1");
  BOOST_TEST(cmd.command.options.r == 2u);
}

BOOST_AUTO_TEST_CASE(set_and_del_are_put_and_delete) {
  auto set = parse_command("SET k v w=1");
  BOOST_TEST_REQUIRE(!set.error.has_value());
  BOOST_TEST(set.command.kind == command_kind::put);
  BOOST_TEST(set.command.value == "v");
  auto del = parse_command("del k ctx=@");
  BOOST_TEST_REQUIRE(!del.error.has_value());
  BOOST_TEST(del.command.kind == command_kind::remove);
}

BOOST_AUTO_TEST_CASE(consistency_levels_by_name) {
  auto cmd = parse_command("put k v r=one w=QUORUM");
  BOOST_TEST_REQUIRE(!cmd.error.has_value());
  BOOST_TEST(cmd.command.options.r == 1u);
  BOOST_TEST(cmd.command.options.w == level_quorum);
  auto all = parse_command("get k r=all n=5");
  BOOST_TEST_REQUIRE(!all.error.has_value());
  BOOST_TEST(all.command.options.r == level_all);
  // The node resolves the names against the request's n.
  consistency_defaults defaults;
  auto resolved = resolve(all.command.options, defaults);
  BOOST_TEST(resolved.r == 5u);
  request_options majority;
  majority.w = level_quorum;
  BOOST_TEST(resolve(majority, defaults).w == 2u); // n = 3
  majority.n = 5;
  BOOST_TEST(resolve(majority, defaults).w == 3u);
  auto bad = parse_command("get k r=most");
  BOOST_TEST_REQUIRE(bad.error.has_value());
  BOOST_TEST(bad.error->find("one, quorum, all") != std::string::npos);
  BOOST_TEST(parse_command("get k timeout=quorum").error.has_value());
}

BOOST_AUTO_TEST_CASE(help_for_one_command) {
  auto cmd = parse_command("help put");
  BOOST_TEST_REQUIRE(!cmd.error.has_value());
  BOOST_TEST(cmd.command.kind == command_kind::help);
  BOOST_TEST(command_usage(cmd.command.key).rfind("put KEY VALUE", 0) == 0);
  BOOST_TEST(parse_command("help nosuch").error.has_value());
  auto names = command_names();
  BOOST_TEST((std::find(names.begin(), names.end(), "del") != names.end()));
  auto options = command_options("get");
  BOOST_TEST((std::find(options.begin(), options.end(), "r=") != options.end()));
  BOOST_TEST((std::find(options.begin(), options.end(), "w=") == options.end()));
}

BOOST_AUTO_TEST_CASE(malformed_quoting_is_an_error) {
  auto unterminated = tokenize(R"(put k "abc)");
  BOOST_TEST_REQUIRE(unterminated.error.has_value());
  BOOST_TEST(contains(*unterminated.error, "unterminated quote"));
  BOOST_TEST(contains(*unterminated.error, "column 7"));
  BOOST_TEST(unterminated.tokens.empty());
  BOOST_TEST(contains(*tokenize(R"("abc\)").error, "unterminated"));
  BOOST_TEST(contains(*tokenize(R"("\q")").error, "unknown escape \\q"));
  BOOST_TEST(contains(*tokenize(R"("\x4")").error, "two hex digits"));
  BOOST_TEST(contains(*tokenize(R"("\xg1")").error, "two hex digits"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(commands)

BOOST_AUTO_TEST_CASE(empty_line_and_comment_are_no_command) {
  for (auto line : {"", "   ", "# note"}) {
    auto result = parse_command(line);
    BOOST_TEST(!result.error.has_value());
    BOOST_TEST(result.command.kind == command_kind::none);
  }
}

BOOST_AUTO_TEST_CASE(put_with_every_option) {
  auto cmd = command_of("put k \"v v\" n=3 r=1 w=2 timeout=250");
  BOOST_TEST(cmd.kind == command_kind::put);
  BOOST_TEST(cmd.key == "k");
  BOOST_TEST(cmd.value == "v v");
  BOOST_TEST(cmd.options.n == 3u);
  BOOST_TEST(cmd.options.r == 1u);
  BOOST_TEST(cmd.options.w == 2u);
  BOOST_TEST(cmd.options.timeout_ms == 250u);
  BOOST_TEST(!cmd.options.strict_quorum);
  BOOST_TEST(cmd.context_from == context_source::none);
}

BOOST_AUTO_TEST_CASE(absent_options_stay_zero) {
  auto cmd = command_of("get k");
  BOOST_TEST(cmd.kind == command_kind::get);
  BOOST_TEST(cmd.options.n == 0u);
  BOOST_TEST(cmd.options.r == 0u);
  BOOST_TEST(cmd.options.w == 0u);
  BOOST_TEST(cmd.options.timeout_ms == 0u);
}

BOOST_AUTO_TEST_CASE(value_that_looks_like_an_option_is_the_value) {
  auto cmd = command_of("put k n=3");
  BOOST_TEST(cmd.value == "n=3");
  BOOST_TEST(cmd.options.n == 0u);
}

BOOST_AUTO_TEST_CASE(command_names_ignore_case) {
  BOOST_TEST(command_of("GET k").kind == command_kind::get);
  BOOST_TEST(command_of("Delete k").kind == command_kind::remove);
  BOOST_TEST(command_of("quit").kind == command_kind::quit);
  BOOST_TEST(command_of("exit").kind == command_kind::quit);
  BOOST_TEST(command_of("help").kind == command_kind::help);
}

BOOST_AUTO_TEST_CASE(context_sources) {
  BOOST_TEST(command_of("put k v ctx=@").context_from
             == context_source::latest);
  auto given = command_of("delete k ctx=n1:3@1700000000000,n2:1@5");
  BOOST_TEST(given.kind == command_kind::remove);
  BOOST_TEST(given.context_from == context_source::given);
  BOOST_TEST(given.context.counter("n1") == 3u);
  BOOST_TEST(given.context.counter("n2") == 1u);
  // An empty token is the empty clock: an explicit blind write.
  auto blind = command_of("put k v ctx=");
  BOOST_TEST(blind.context_from == context_source::given);
  BOOST_TEST(blind.context.empty());
}

BOOST_AUTO_TEST_CASE(context_token_round_trips) {
  vector_clock clock{{clock_entry{"a", 2, 10}, clock_entry{"b.c-d", 7, 0}}};
  auto cmd = command_of("put k v ctx=" + clock.to_token());
  BOOST_TEST((cmd.context == clock));
}

BOOST_AUTO_TEST_CASE(connect_takes_host_and_port) {
  auto cmd = command_of("connect 10.0.0.2 4001");
  BOOST_TEST(cmd.kind == command_kind::connect);
  BOOST_TEST(cmd.host == "10.0.0.2");
  BOOST_TEST(cmd.port == 4001);
}

BOOST_AUTO_TEST_CASE(unknown_command) {
  auto err = error_of("frobnicate x");
  BOOST_TEST(contains(err, "unknown command 'frobnicate'"));
}

BOOST_AUTO_TEST_CASE(missing_arguments_name_what_is_missing) {
  BOOST_TEST(contains(error_of("put"), "put: missing KEY"));
  BOOST_TEST(contains(error_of("put k"), "put: missing VALUE"));
  BOOST_TEST(contains(error_of("put k"), "usage: put KEY VALUE"));
  BOOST_TEST(contains(error_of("get"), "get: missing KEY"));
  BOOST_TEST(contains(error_of("delete"), "delete: missing KEY"));
  BOOST_TEST(contains(error_of("connect host"), "connect: missing PORT"));
}

BOOST_AUTO_TEST_CASE(bad_options) {
  BOOST_TEST(contains(error_of("get k w=2"), "get: unknown option 'w='"));
  BOOST_TEST(contains(error_of("get k ctx=@"), "unknown option 'ctx='"));
  BOOST_TEST(contains(error_of("delete k r=1"), "unknown option 'r='"));
  BOOST_TEST(contains(error_of("put k v x=1"), "unknown option 'x='"));
  BOOST_TEST(contains(error_of("put k v n=abc"), "n= wants a number"));
  BOOST_TEST(contains(error_of("put k v n=-1"), "n= wants a number"));
  BOOST_TEST(contains(error_of("put k v n="), "n= wants a number"));
  BOOST_TEST(contains(error_of("put k v timeout=4294967296"),
                      "timeout= wants a number"));
  BOOST_TEST(contains(error_of("put k v n=1 n=2"), "given twice"));
  BOOST_TEST(contains(error_of("put k v ctx=garbage"), "ctx= wants"));
  BOOST_TEST(
    contains(error_of("put k v extra"), "unexpected argument 'extra'"));
  BOOST_TEST(contains(error_of("put k v =1"), "unexpected argument '=1'"));
  BOOST_TEST(contains(error_of("help me"), "help: no command 'me'"));
  BOOST_TEST(contains(error_of("connect h 0"), "PORT must be a number"));
  BOOST_TEST(contains(error_of("connect h 65536"), "PORT must be a number"));
}

BOOST_AUTO_TEST_CASE(tokenizer_errors_reach_the_command) {
  BOOST_TEST(contains(error_of(R"(put k "v)"), "unterminated quote"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(keys_are_checked_before_sending) {
  auto at_limit = command_of("get " + std::string(max_key_bytes, 'k'));
  BOOST_TEST(!request_problem(at_limit, 10).has_value());
  auto over = command_of("get " + std::string(max_key_bytes + 1, 'k'));
  auto problem = request_problem(over, 10);
  BOOST_TEST_REQUIRE(problem.has_value());
  BOOST_TEST(contains(*problem, "key_too_large: the key has 10241 bytes"));
  auto empty = request_problem(command_of("delete \"\""), 10);
  BOOST_TEST_REQUIRE(empty.has_value());
  BOOST_TEST(contains(*empty, "invalid_argument: the key is empty"));
}

BOOST_AUTO_TEST_CASE(values_are_checked_against_the_shell_limit) {
  BOOST_TEST(!request_problem(command_of("put k 12345"), 5).has_value());
  auto problem = request_problem(command_of("put k 123456"), 5);
  BOOST_TEST_REQUIRE(problem.has_value());
  BOOST_TEST(contains(*problem, "value_too_large: the value has 6 bytes"));
  BOOST_TEST(!request_problem(command_of("help"), 0).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(program_arguments)

BOOST_AUTO_TEST_CASE(defaults) {
  auto parsed = parse_shell_args({});
  BOOST_TEST(!parsed.error.has_value());
  BOOST_TEST(parsed.args.host == "127.0.0.1");
  BOOST_TEST(parsed.args.port == 4000);
  BOOST_TEST(parsed.args.timeout_ms == 0u);
  BOOST_TEST(parsed.args.max_value_bytes == default_max_value_bytes);
  BOOST_TEST(!parsed.args.help);
}

BOOST_AUTO_TEST_CASE(both_flag_forms) {
  auto parsed = parse_shell_args({"--host=h", "--port", "4100",
                                  "--timeout-ms=50", "--max-value-bytes",
                                  "7", "--help"});
  BOOST_TEST(!parsed.error.has_value());
  BOOST_TEST(parsed.args.host == "h");
  BOOST_TEST(parsed.args.port == 4100);
  BOOST_TEST(parsed.args.timeout_ms == 50u);
  BOOST_TEST(parsed.args.max_value_bytes == 7u);
  BOOST_TEST(parsed.args.help);
}

BOOST_AUTO_TEST_CASE(bad_flags) {
  for (auto argv : {strings{"--bogus=1"}, strings{"--port=0"},
                    strings{"--port=99999"}, strings{"--port"},
                    strings{"--timeout-ms=x"}, strings{"--host="},
                    strings{"-x"}, strings{"--max-value-bytes=-5"}}) {
    auto parsed = parse_shell_args(argv);
    BOOST_TEST(parsed.error.has_value(), "accepted " << argv.front());
  }
}

BOOST_AUTO_TEST_CASE(a_command_on_the_command_line) {
  auto parsed = parse_shell_args(
    {"--port=4001", "-e", "put", "k", "a value", "--not-a-flag"});
  BOOST_TEST_REQUIRE(!parsed.error.has_value());
  BOOST_TEST(parsed.args.port == 4001u);
  BOOST_TEST(parsed.args.stop_on_error);
  BOOST_TEST(parsed.args.command
               == (strings{"put", "k", "a value", "--not-a-flag"}),
             boost::test_tools::per_element());
  BOOST_TEST(parse_shell_args({"--version"}).args.version);
  BOOST_TEST(parse_shell_args({"--raw", "get", "k"}).args.raw);
  BOOST_TEST(!parse_shell_args({"get", "k"}).args.raw);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(output)

BOOST_AUTO_TEST_CASE(timestamps_are_iso_8601_utc) {
  BOOST_TEST(format_timestamp(0) == "1970-01-01T00:00:00.000Z");
  BOOST_TEST(format_timestamp(1700000000123) == "2023-11-14T22:13:20.123Z");
}

BOOST_AUTO_TEST_CASE(plain_values_print_verbatim) {
  BOOST_TEST(format_value("hello world") == "hello world");
  BOOST_TEST(format_value("C:\\dir") == "C:\\dir");
  BOOST_TEST(format_value("caf\xc3\xa9") == "caf\xc3\xa9");
}

BOOST_AUTO_TEST_CASE(ambiguous_values_print_quoted_and_parse_back) {
  for (std::string value : {std::string{}, std::string{"(not found)"},
                            std::string{"  clock"}, std::string{"x "},
                            std::string{"\"q\""}, std::string{"a\nb\\c"},
                            std::string("\x01\x7f\0", 3)}) {
    auto shown = format_value(value);
    BOOST_TEST(shown.front() == '"');
    BOOST_TEST(shown.find('\n') == std::string::npos);
    auto back = tokens_of("put k " + shown);
    BOOST_TEST_REQUIRE(back.size() == 3u);
    BOOST_TEST(back[2] == value);
  }
}

// Issue 12: bytes that are not UTF-8 printed raw, so a value could not be
// copied back. They print as \xHH inside quotes; UTF-8 text stays as it is.
BOOST_AUTO_TEST_CASE(binary_values_print_escaped_and_parse_back) {
  BOOST_TEST(format_value("caf\xc3\xa9 \xe2\x82\xac") == "caf\xc3\xa9 \xe2\x82\xac");
  for (std::string value :
       {std::string{"\xff\xfe"}, std::string{"ok\xc3"}, std::string{"\xc0\xaf"},
        std::string{"\xed\xa0\x80"}, std::string{"a\xf5\x80\x80\x80"}}) {
    auto shown = format_value(value);
    BOOST_TEST(shown.front() == '"');
    BOOST_TEST(shown.find("\\x") != std::string::npos);
    auto back = tokens_of("put k " + shown);
    BOOST_TEST_REQUIRE(back.size() == 3u);
    BOOST_TEST(back[2] == value);
  }
  // One-shot commands rebuild a line from argv words.
  for (std::string word : {std::string{"plain"}, std::string{"two words"},
                           std::string{"#tag"}, std::string{"say \"hi\""},
                           std::string{}, std::string{"\xff"}}) {
    auto back = tokens_of("put k " + shell_word(word));
    BOOST_TEST_REQUIRE(back.size() == 3u);
    BOOST_TEST(back[2] == word);
  }
}

BOOST_AUTO_TEST_CASE(get_of_a_missing_or_deleted_key) {
  get_result missing;
  BOOST_TEST(format_get(missing) == "(not found)\n");
  get_result deleted;
  auto tomb = version("", 2, 5);
  tomb.tombstone = true;
  deleted.siblings.push_back(tomb);
  deleted.context = tomb.history();
  BOOST_TEST(format_get(deleted) == "(not found)\n");
}

BOOST_AUTO_TEST_CASE(get_of_one_value) {
  get_result one;
  one.siblings.push_back(version("v", 3, 1700000000123));
  one.context = one.siblings[0].history();
  BOOST_TEST(format_get(one)
             == "v\n"
                "  clock {n1:3} written 2023-11-14T22:13:20.123Z\n"
                "  context n1:3@1700000000123\n");
}

BOOST_AUTO_TEST_CASE(get_of_siblings) {
  get_result two;
  two.siblings.push_back(version("a", 1, 0));
  two.siblings.push_back(version("b b", 2, 1000));
  two.context = two.siblings[1].history();
  BOOST_TEST(format_get(two)
             == "(2 siblings: concurrent writes, in no order; each clock is "
                "what its writer had seen + its own write)\n"
                "a\n"
                "  clock {}+n1:1 written 1970-01-01T00:00:00.000Z\n"
                "b b\n"
                "  clock {n1:1}+n1:2 written 1970-01-01T00:00:01.000Z\n"
                "  context n1:2@1000\n");
}

// Regression (issue 12): two writes through one node that neither saw
// printed as {n1:2} and {n1:3}, which read as ordered.
BOOST_AUTO_TEST_CASE(concurrent_siblings_do_not_look_ordered) {
  get_result two;
  auto seen = vector_clock{{clock_entry{"n1", 1, 0}}};
  two.siblings.push_back(version("milk", 2, 0));
  two.siblings.push_back(version("eggs", 3, 0));
  for (auto& v : two.siblings)
    v.context = seen;
  two.context = two.siblings[1].history();
  auto out = format_get(two);
  BOOST_TEST(out.find("  clock {n1:1}+n1:2 written") != std::string::npos);
  BOOST_TEST(out.find("  clock {n1:1}+n1:3 written") != std::string::npos);
  BOOST_TEST(out.find("{n1:3} written") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(write_acknowledgement) {
  put_result r;
  r.context = vector_clock{{clock_entry{"n1", 4, 0}, clock_entry{"n2", 1, 0}}};
  BOOST_TEST(format_write(r) == "ok\n  clock {n1:4, n2:1}\n");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(join_takes_one_seed_address) {
  auto cmd = command_of("join 10.0.0.2:4001");
  BOOST_TEST(cmd.kind == command_kind::join);
  BOOST_TEST(cmd.host == "10.0.0.2");
  BOOST_TEST(cmd.port == 4001);
  BOOST_TEST(contains(error_of("join"), "join: missing SEED"));
  BOOST_TEST(contains(error_of("join 10.0.0.2"), "SEED must be one HOST:PORT"));
  BOOST_TEST(contains(error_of("join a:1,b:2"), "SEED must be one HOST:PORT"));
  BOOST_TEST(contains(error_of("join h:0"), "SEED must be one HOST:PORT"));
}

BOOST_AUTO_TEST_CASE(autoscale_shows_pauses_resumes_and_sets_one_bound) {
  auto show = command_of("autoscale");
  BOOST_TEST(show.kind == command_kind::autoscale);
  BOOST_TEST(show.key.empty());
  BOOST_TEST(command_of("AUTOSCALE Pause").key == "pause");
  BOOST_TEST(command_of("autoscale resume").key == "resume");
  auto set = command_of("autoscale set High-Ops 3000");
  BOOST_TEST(set.key == "set");
  BOOST_TEST(set.value == "high-ops 3000");
  BOOST_TEST(contains(error_of("autoscale set high-ops"), "set NAME VALUE"));
  BOOST_TEST(contains(error_of("autoscale set high-ops -1"),
                      "VALUE must be a whole number, got '-1'"));
  BOOST_TEST(contains(error_of("autoscale pause now"), "expected nothing"));
  BOOST_TEST(contains(error_of("autoscale grow"), "expected nothing"));
}
