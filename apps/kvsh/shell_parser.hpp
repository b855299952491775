#pragma once

// The language of kvsh: splitting a line into tokens and turning the tokens
// into a command. Plain C++ (no CAF), so every rule is unit-tested without a
// node.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messages/request.hpp"
#include "messages/vector_clock.hpp"

namespace kv {

struct token_list {
  std::vector<std::string> tokens;
  std::optional<std::string> error; // set: the line is malformed
};

// Splits at unquoted whitespace. A double-quoted part may hold whitespace and
// the escapes \" \\ \n \r \t \0 \xHH; quoted and bare parts next to each other
// form one token (ctx="a b" is one token). Outside quotes a backslash is an
// ordinary character, so Windows paths and regexes need no doubling. A line
// whose first non-blank character is '#' is a comment (no tokens).
token_list tokenize(std::string_view line);

enum class command_kind {
  none, put, get, remove, help, quit, connect, nodes, ring, hints, replica,
  leave, join, remove_node, replace_node, aae, repair, stats, autoscale
};

// Where a put or delete takes its causal context from.
enum class context_source {
  none,   // blind write: supersedes nothing
  latest, // ctx=@: the context of this shell's latest get of the key
  given,  // ctx=TOKEN
};

struct shell_command {
  command_kind kind = command_kind::none;
  // put, get, delete, replica; ring (optional); help; autoscale's control
  // (pause, resume, set; empty: show)
  std::string key;
  std::string value; // put; autoscale set: "NAME VALUE"
  std::string host;  // connect, join
  uint16_t port = 0; // connect, join
  request_options options;
  context_source context_from = context_source::none;
  vector_clock context; // when context_from == given
};

struct parsed_command {
  shell_command command; // kind none for an empty line or a comment
  std::optional<std::string> error;
};

// Parses one shell line. Positional arguments come first and their number is
// fixed per command, so a value that looks like an option (put k n=3) is
// still the value; everything after them must be a name=value option.
parsed_command parse_command(std::string_view line);

// Why a command must not be sent (key or value over the limits), if so; the
// text follows the node's own errors ("key_too_large: ...").
std::optional<std::string> request_problem(const shell_command& cmd,
                                           std::size_t max_value_bytes);

// Parses a port number 1..65535.
std::optional<uint16_t> parse_port(std::string_view text);

// Parses a decimal number that fits `max`; no sign, no blanks.
std::optional<uint64_t> parse_unsigned(std::string_view text, uint64_t max);

// The text `help` prints.
const char* shell_help_text();

// The usage line of a command (`help COMMAND`); empty if there is none.
std::string command_usage(std::string_view name);

// The command names (aliases included), for completion.
std::vector<std::string> command_names();

// The options `name=` a command takes ("n=", "ctx=", ...), for completion.
std::vector<std::string> command_options(std::string_view name);

} // namespace kv
