// kvnode's config file checker: every mistake gets its line and a fix,
// and what kvnode --dump-config writes passes.
#define BOOST_TEST_MODULE config_file
#include <boost/test/unit_test.hpp>

#include "apps/kvnode/config_file.hpp"

using namespace kv;

namespace {

option_kind lookup(std::string_view section, std::string_view key) {
  if (section == "global" && key == "node-id")
    return option_kind::text;
  if (section == "global" && key == "port")
    return option_kind::number;
  if (section == "middleman" && key == "app-identifiers")
    return option_kind::other;
  return option_kind::unknown;
}

std::string problem(std::string_view text) {
  return config_text_problem(text, lookup).value_or("");
}

} // namespace

BOOST_AUTO_TEST_CASE(a_valid_file_passes) {
  BOOST_TEST(problem("; comment\n\n[global]\nnode-id = \"n1\" ; mine\n"
                     "port=4000\n[middleman]\napp-identifiers = [\n"
                     "  \"a\", ; first\n]\n")
             == "");
}

BOOST_AUTO_TEST_CASE(an_unknown_name_is_an_error_not_a_default) {
  BOOST_TEST(problem("[global]\nnode-idd = \"x\"\n")
             == "line 2: unknown option 'node-idd' in [global] (kvnode "
                "--dump-config lists them)");
  BOOST_TEST(problem("[schedulr]\nmax-threads = 2\n")
             == "line 2: unknown option 'max-threads' in [schedulr]");
}

BOOST_AUTO_TEST_CASE(syntax_mistakes_name_their_line_and_fix) {
  BOOST_TEST(problem("[global]\n# note\n")
             == "line 2: comments start with ';' in kvnode's config format, "
                "not '#'");
  BOOST_TEST(problem("[global]\nnode-id = n1\n")
             == "line 2: the value of 'node-id' is text: put it in double "
                "quotes (node-id = \"n1\")");
  BOOST_TEST(problem("[global]\nport = 40a0\n")
             == "line 2: the value of 'port' is a whole number, not '40a0'");
  BOOST_TEST(problem("node-id = \"n1\"\n")
             == "line 1: options come after a section header such as "
                "[global]");
  BOOST_TEST(problem("[global\n")
             == "line 1: a section header is one name in brackets, like "
                "[global]");
  BOOST_TEST(problem("[global]\nport\n")
             == "line 2: expected 'name = value', a [section] or a "
                "'; comment'");
  BOOST_TEST(problem("[global]\nport =\n")
             == "line 2: option 'port' has no value");
  BOOST_TEST(problem("[middleman]\napp-identifiers = [\n\"a\",\n")
             == "the file ends inside a value (] missing)");
}

// Review of issue 12: a quoted ']' ended a list early, and a map value
// over several lines was refused.
BOOST_AUTO_TEST_CASE(values_over_several_lines_end_at_their_bracket) {
  BOOST_TEST(problem("[middleman]\napp-identifiers = [\n  \"a]b\",\n  "
                     "\"c\"\n]\n[global]\nport = 1\n")
             == "");
  BOOST_TEST(problem("[middleman]\napp-identifiers = {\n  x = 1\n}\n"
                     "[global]\nport = 1\n")
             == "");
}

BOOST_AUTO_TEST_CASE(a_dump_reads_back) {
  auto text = render_config({{"node-id", "node id", "\"n1\""},
                             {"port", "port to listen on", "4000"}});
  BOOST_TEST(problem(text) == "");
  BOOST_TEST(text.find("\n; port to listen on\nport = 4000\n")
             != std::string::npos);
}

BOOST_AUTO_TEST_CASE(caf_parser_errors_give_their_place) {
  BOOST_TEST(parser_error_place("parser_error(unexpected_character, "
                                "({\"column\" = 9, \"line\" = 2}))")
               .value_or("")
             == "line 2, column 9");
  BOOST_TEST(!parser_error_place("system_error(cannot_open_file)"));
  BOOST_TEST(parser_error_argument("parser_error(unexpected_character, "
                                   "({\"argument\" = \"--port=abc\"}))")
               .value_or("")
             == "--port=abc");
}
