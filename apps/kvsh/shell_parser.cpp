#include "apps/kvsh/shell_parser.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

#include "messages/endpoint.hpp"
#include "messages/errors.hpp"

namespace kv {

namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v'
         || c == '\f';
}

std::optional<int> hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return std::nullopt;
}

std::string column(std::size_t pos) {
  return "column " + std::to_string(pos + 1);
}

// Reads the escape whose backslash is at line[pos] into `out`; advances `pos`
// past it.
std::optional<std::string> read_escape(std::string_view line, std::size_t& pos,
                                       std::string& out) {
  auto at = pos;
  if (pos + 1 >= line.size())
    return "unterminated quote: the line ends after a backslash";
  auto c = line[pos + 1];
  pos += 2;
  switch (c) {
    case '"':
    case '\\':
      out += c;
      return std::nullopt;
    case 'n':
      out += '\n';
      return std::nullopt;
    case 'r':
      out += '\r';
      return std::nullopt;
    case 't':
      out += '\t';
      return std::nullopt;
    case '0':
      out += '\0';
      return std::nullopt;
    case 'x': {
      auto hi = pos < line.size() ? hex_digit(line[pos]) : std::nullopt;
      auto lo = pos + 1 < line.size() ? hex_digit(line[pos + 1]) : std::nullopt;
      if (!hi || !lo)
        return "bad escape at " + column(at) + ": \\x needs two hex digits";
      out += static_cast<char>(*hi * 16 + *lo);
      pos += 2;
      return std::nullopt;
    }
    default:
      // Rejecting unknown escapes keeps a typo from silently changing a value.
      return "unknown escape \\" + std::string(1, c) + " at " + column(at)
             + " (write \\\\ for a backslash)";
  }
}

// Reads the quoted part whose opening quote is at line[pos] into `out`;
// advances `pos` past the closing quote.
std::optional<std::string> read_quoted(std::string_view line, std::size_t& pos,
                                       std::string& out) {
  auto opened = pos++;
  while (pos < line.size()) {
    auto c = line[pos];
    if (c == '"') {
      ++pos;
      return std::nullopt;
    }
    if (c == '\\') {
      if (auto problem = read_escape(line, pos, out))
        return problem;
      continue;
    }
    out += c;
    ++pos;
  }
  return "unterminated quote opened at " + column(opened);
}

std::string lowercase(std::string_view text) {
  std::string out{text};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Which name=value options a command accepts.
enum option_set : unsigned {
  opt_none = 0,
  opt_ctx = 1,
  opt_n = 2,
  opt_r = 4,
  opt_w = 8,
  opt_timeout = 16,
  opt_strict = 32,
};

struct command_spec {
  const char* name;
  command_kind kind;
  std::vector<const char*> positionals; // names, for error messages
  unsigned options;
  const char* usage;
};

const std::vector<command_spec>& command_specs() {
  static const std::vector<command_spec> specs{
    {"put", command_kind::put, {"KEY", "VALUE"},
     opt_ctx | opt_n | opt_r | opt_w | opt_timeout | opt_strict,
     "put KEY VALUE [ctx=TOKEN|ctx=@] [n=N] [r=R] [w=W] [timeout=MS] "
     "[strict=1]"},
    {"get", command_kind::get, {"KEY"},
     opt_n | opt_r | opt_timeout | opt_strict,
     "get KEY [n=N] [r=R] [timeout=MS] [strict=1]"},
    {"delete", command_kind::remove, {"KEY"},
     opt_ctx | opt_n | opt_w | opt_timeout | opt_strict,
     "delete KEY [ctx=TOKEN|ctx=@] [n=N] [w=W] [timeout=MS] [strict=1]"},
    {"connect", command_kind::connect, {"HOST", "PORT"}, opt_none,
     "connect HOST PORT"},
    {"nodes", command_kind::nodes, {}, opt_none, "nodes"},
    {"hints", command_kind::hints, {}, opt_none, "hints"},
    {"stats", command_kind::stats, {}, opt_none, "stats"},
    {"replica", command_kind::replica, {"KEY"}, opt_none, "replica KEY"},
    {"ring", command_kind::ring, {}, opt_n, "ring [KEY [n=N]]"},
    {"leave", command_kind::leave, {}, opt_none, "leave"},
    {"join", command_kind::join, {"SEED"}, opt_none, "join HOST:PORT"},
    {"remove", command_kind::remove_node, {"NODE"}, opt_none, "remove NODE"},
    {"replace", command_kind::replace_node, {"OLD", "NEW"}, opt_none,
     "replace OLD NEW"},
    {"aae", command_kind::aae, {}, opt_none, "aae [all]"},
    {"repair", command_kind::repair, {}, opt_none, "repair [NODE]"},
    {"autoscale", command_kind::autoscale, {}, opt_none,
     "autoscale [pause|resume|set NAME VALUE]"},
    {"set", command_kind::put, {"KEY", "VALUE"},
     opt_ctx | opt_n | opt_r | opt_w | opt_timeout | opt_strict,
     "set KEY VALUE (the same as put)"},
    {"del", command_kind::remove, {"KEY"},
     opt_ctx | opt_n | opt_w | opt_timeout | opt_strict,
     "del KEY (the same as delete)"},
    {"help", command_kind::help, {}, opt_none, "help [COMMAND]"},
    {"quit", command_kind::quit, {}, opt_none, "quit"},
    {"exit", command_kind::quit, {}, opt_none, "exit"},
  };
  return specs;
}

const command_spec* find_spec(std::string_view name) {
  auto lower = lowercase(name);
  for (auto& spec : command_specs())
    if (lower == spec.name)
      return &spec;
  return nullptr;
}

struct option_def {
  const char* name;
  option_set bit;
};

constexpr option_def option_defs[] = {
  {"ctx", opt_ctx}, {"n", opt_n},
  {"r", opt_r},     {"w", opt_w},
  {"timeout", opt_timeout}, {"strict", opt_strict},
};

std::optional<std::string> apply_option(const command_spec& spec,
                                        std::string_view token,
                                        unsigned& seen, shell_command& cmd) {
  auto eq = token.find('=');
  auto prefix = std::string{spec.name} + ": ";
  if (eq == std::string_view::npos || eq == 0)
    return prefix + "unexpected argument '" + std::string{token} + "'"
           + (spec.options != opt_none ? " (options are name=value)" : "");
  auto name = token.substr(0, eq);
  auto value = token.substr(eq + 1);
  auto def = std::find_if(std::begin(option_defs), std::end(option_defs),
                          [&](const option_def& d) { return name == d.name; });
  if (def == std::end(option_defs) || (spec.options & def->bit) == 0)
    return prefix + "unknown option '" + std::string{name} + "='";
  if (seen & def->bit)
    return prefix + "option " + std::string{name} + "= given twice";
  seen |= def->bit;
  if (def->bit == opt_ctx) {
    if (value == "@") {
      cmd.context_from = context_source::latest;
      return std::nullopt;
    }
    auto clock = vector_clock::from_token(value);
    if (!clock)
      return prefix + "ctx= wants a context token from get, or @, got '"
             + std::string{value} + "'";
    cmd.context_from = context_source::given;
    cmd.context = std::move(*clock);
    return std::nullopt;
  }
  if (def->bit == opt_strict) {
    if (value != "0" && value != "1")
      return prefix + "strict= wants 1 (only the key's owners count) or 0, "
                      "got '" + std::string{value} + "'";
    cmd.options.strict_quorum = value == "1";
    return std::nullopt;
  }
  if (def->bit == opt_r || def->bit == opt_w) {
    auto level = lowercase(value);
    auto& target = def->bit == opt_r ? cmd.options.r : cmd.options.w;
    if (level == "one") {
      target = 1;
      return std::nullopt;
    }
    if (level == "quorum" || level == "all") {
      target = level == "all" ? level_all : level_quorum;
      return std::nullopt;
    }
  }
  auto number = parse_unsigned(value, level_quorum - 1);
  if (!number)
    return prefix + std::string{name} + "= wants a number"
           + (def->bit == opt_r || def->bit == opt_w
                ? std::string{" or one, quorum, all"}
                : std::string{})
           + ", got '" + std::string{value} + "'";
  auto n = static_cast<uint32_t>(*number);
  switch (def->bit) {
    case opt_n:
      cmd.options.n = n;
      break;
    case opt_r:
      cmd.options.r = n;
      break;
    case opt_w:
      cmd.options.w = n;
      break;
    default:
      cmd.options.timeout_ms = n;
      break;
  }
  return std::nullopt;
}

} // namespace

token_list tokenize(std::string_view line) {
  token_list result;
  auto first = std::find_if_not(line.begin(), line.end(), is_blank);
  if (first == line.end() || *first == '#')
    return result;
  std::string current;
  bool in_token = false;
  std::size_t pos = 0;
  while (pos < line.size()) {
    auto c = line[pos];
    // An unquoted # that starts a token starts a comment.
    if (c == '#' && !in_token)
      break;
    if (is_blank(c)) {
      if (in_token)
        result.tokens.push_back(std::move(current));
      current.clear();
      in_token = false;
      ++pos;
      continue;
    }
    in_token = true;
    if (c != '"') {
      current += c;
      ++pos;
      continue;
    }
    if (auto problem = read_quoted(line, pos, current)) {
      result.tokens.clear();
      result.error = std::move(problem);
      return result;
    }
  }
  if (in_token)
    result.tokens.push_back(std::move(current));
  return result;
}

parsed_command parse_command(std::string_view line) {
  parsed_command result;
  auto fail = [&](std::string message) {
    result.command = shell_command{};
    result.error = std::move(message);
    return result;
  };
  auto split = tokenize(line);
  if (split.error)
    return fail(std::move(*split.error));
  auto& tokens = split.tokens;
  if (tokens.empty())
    return result;
  auto spec = find_spec(tokens[0]);
  if (spec == nullptr)
    return fail("unknown command '" + tokens[0] + "' (try help)");
  auto usage = std::string{" (usage: "} + spec->usage + ")";
  auto positionals = spec->positionals.size();
  if (tokens.size() - 1 < positionals)
    return fail(std::string{spec->name} + ": missing "
                + spec->positionals[tokens.size() - 1] + usage);
  auto& cmd = result.command;
  cmd.kind = spec->kind;
  if (spec->kind == command_kind::autoscale) {
    auto control = tokens.size() > 1 ? lowercase(tokens[1]) : std::string{};
    if (tokens.size() == 1
        || ((control == "pause" || control == "resume") && tokens.size() == 2)) {
      cmd.key = control;
      return result;
    }
    if (control != "set" || tokens.size() != 4)
      return fail("autoscale: expected nothing, pause, resume or set NAME "
                  "VALUE" + usage);
    if (!parse_unsigned(tokens[3], uint64_t{1} << 40))
      return fail("autoscale set: VALUE must be a whole number, got '"
                  + tokens[3] + "'" + usage);
    cmd.key = control;
    cmd.value = lowercase(tokens[2]) + " " + tokens[3];
    return result;
  }
  switch (spec->kind) {
    case command_kind::put:
      cmd.key = tokens[1];
      cmd.value = tokens[2];
      break;
    case command_kind::get:
    case command_kind::remove:
    case command_kind::replica:
    case command_kind::remove_node:
      cmd.key = tokens[1];
      break;
    case command_kind::replace_node:
      cmd.key = tokens[1];
      cmd.value = tokens[2];
      break;
    case command_kind::join: {
      std::string error;
      auto seeds = parse_endpoints(tokens[1], "seed", error);
      if (!seeds || seeds->size() != 1)
        return fail("join: SEED must be one HOST:PORT"
                    + (error.empty() ? std::string{} : " (" + error + ")")
                    + usage);
      cmd.host = seeds->front().host;
      cmd.port = seeds->front().port;
      break;
    }
    case command_kind::connect: {
      cmd.host = tokens[1];
      auto port = parse_port(tokens[2]);
      if (!port)
        return fail("connect: PORT must be a number from 1 to 65535, got '"
                    + tokens[2] + "'");
      cmd.port = *port;
      break;
    }
    default:
      break;
  }
  // ring's KEY, aae's `all` and repair's NODE are optional: a first
  // argument that is no option is it.
  if ((spec->kind == command_kind::ring || spec->kind == command_kind::aae
       || spec->kind == command_kind::repair)
      && tokens.size() > 1
      && tokens[1].find('=') == std::string::npos) {
    cmd.key = tokens[1];
    ++positionals;
  }
  if (spec->kind == command_kind::aae && !cmd.key.empty()
      && lowercase(cmd.key) != "all")
    return fail("aae: the only argument is `all`" + usage);
  if (spec->kind == command_kind::help && tokens.size() > 1) {
    if (tokens.size() > 2 || find_spec(tokens[1]) == nullptr)
      return fail("help: no command '" + tokens[1] + "' (try help)");
    cmd.key = lowercase(tokens[1]);
    return result;
  }
  unsigned seen = 0;
  for (auto i = positionals + 1; i < tokens.size(); ++i)
    if (auto problem = apply_option(*spec, tokens[i], seen, cmd))
      return fail(*problem + usage);
  return result;
}

std::optional<std::string> request_problem(const shell_command& cmd,
                                           std::size_t max_value_bytes) {
  if (cmd.kind != command_kind::put && cmd.kind != command_kind::get
      && cmd.kind != command_kind::remove)
    return std::nullopt;
  if (auto problem = key_problem(cmd.key)) {
    auto code = cmd.key.empty() ? kv_errc::invalid_argument
                                : kv_errc::key_too_large;
    return std::string{to_string(code)} + ": " + *problem;
  }
  if (cmd.kind == command_kind::put)
    if (auto problem = value_problem(cmd.value, max_value_bytes))
      return std::string{to_string(kv_errc::value_too_large)} + ": " + *problem
             + " (kvsh --max-value-bytes)";
  return std::nullopt;
}

std::optional<uint64_t> parse_unsigned(std::string_view text, uint64_t max) {
  uint64_t out = 0;
  if (text.empty())
    return std::nullopt;
  auto res = std::from_chars(text.data(), text.data() + text.size(), out);
  if (res.ec != std::errc{} || res.ptr != text.data() + text.size()
      || out > max)
    return std::nullopt;
  return out;
}

std::optional<uint16_t> parse_port(std::string_view text) {
  auto port = parse_unsigned(text, 65535);
  if (!port || *port == 0)
    return std::nullopt;
  return static_cast<uint16_t>(*port);
}

std::string command_usage(std::string_view name) {
  auto spec = find_spec(name);
  return spec == nullptr ? std::string{} : std::string{spec->usage};
}

std::vector<std::string> command_names() {
  std::vector<std::string> names;
  for (auto& spec : command_specs())
    names.emplace_back(spec.name);
  return names;
}

std::vector<std::string> command_options(std::string_view name) {
  std::vector<std::string> out;
  auto spec = find_spec(name);
  if (spec == nullptr)
    return out;
  for (auto& def : option_defs)
    if (spec->options & def.bit)
      out.push_back(std::string{def.name} + "=");
  return out;
}

const char* shell_help_text() {
  return "commands:\n"
         "  put KEY VALUE [ctx=TOKEN|ctx=@] [n=N] [r=R] [w=W] [timeout=MS]\n"
         "                [strict=1]\n"
         "  get KEY [n=N] [r=R] [timeout=MS] [strict=1]\n"
         "  delete KEY [ctx=TOKEN|ctx=@] [n=N] [w=W] [timeout=MS] [strict=1]\n"
         "  connect HOST PORT    switch to another node\n"
         "  nodes                every member: status, load, keys, disk,\n"
         "                       hints and transfers (as gossiped)\n"
         "  stats                this node's requests, latency, hints,\n"
         "                       storage and transfers\n"
         "  hints                writes held for unreachable nodes, by\n"
         "                       holder and owner, over the whole cluster\n"
         "  replica KEY          what this node's own replica stores for KEY\n"
         "  ring                 partitions per node, the change in transfer\n"
         "  ring KEY [n=N]       the preference list of KEY (default n: 3)\n"
         "  leave                the connected node leaves the ring\n"
         "  join HOST:PORT       the connected node, alone, joins the\n"
         "                       cluster of the node at HOST:PORT\n"
         "  remove NODE          forget a dead node; others re-replicate it\n"
         "  replace OLD NEW      NEW (started after) takes dead OLD's place\n"
         "  aae [all]            anti-entropy: partitions compared, keys\n"
         "                       repaired (all: every partition)\n"
         "  repair [NODE]        compare every partition with its replicas\n"
         "                       now (or only those shared with NODE)\n"
         "  autoscale            the autoscaler: bounds, load, decisions\n"
         "  autoscale pause|resume  stop or restart its decisions (every node)\n"
         "  autoscale set NAME VALUE  change a bound on every node\n"
         "                       (min, max, high-ops, low-ops, high-p99-ms,\n"
         "                       high-cpu-pct, out-window-s, in-window-s,\n"
         "                       cooldown-s, grown-share-pct, grown-memory-s,\n"
         "                       shrink-newest)\n"
         "  help                 this text\n"
         "  quit | exit\n"
         "arguments:\n"
         "  Quote with \"...\" to include blanks; inside quotes \\\" \\\\ \\n "
         "\\r \\t \\0 \\xHH.\n"
         "  strict=1: only the key's own replicas count toward R/W (no\n"
         "  stand-ins holding hints); fails instead when too few are up.\n"
         "  ctx=@ uses the context of this shell's latest get or put of the key;\n"
         "  without ctx a write is blind: it claims to have seen nothing, so\n"
         "  the versions already stored may stay as siblings.\n"
         "  n/r/w/timeout of 0 or absent mean the node's defaults; r and w\n"
         "  also take one, quorum (a majority of n) or all.\n"
         "  # starts a comment (unless quoted or inside a word).\n"
         "  set and del are the same as put and delete.\n"
         "  help COMMAND shows one command's usage.\n"
         "output:\n"
         "  get prints each value verbatim on its own line; a value that is\n"
         "  empty, has control characters, starts with ( or \" or a blank, or\n"
         "  ends with a blank prints quoted as above. Errors go to stderr.\n";
}

} // namespace kv
