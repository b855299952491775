#include "apps/kvnode/config_file.hpp"

#include <cctype>
#include <fstream>
#include <regex>

namespace kv {

namespace {

std::string_view trim(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && blank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && blank(s.back()))
    s.remove_suffix(1);
  return s;
}

// The first `c` in `text` outside double quotes (npos: none).
std::size_t find_unquoted(std::string_view text, char c) {
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && quoted)
      ++i;
    else if (text[i] == '"')
      quoted = !quoted;
    else if (text[i] == c && !quoted)
      return i;
  }
  return std::string_view::npos;
}

// `value` without a trailing "; comment".
std::string_view strip_comment(std::string_view value) {
  auto comment = find_unquoted(value, ';');
  return comment == std::string_view::npos ? value
                                           : trim(value.substr(0, comment));
}

// Whether `text` closes a value with `close` (outside quotes).
bool closes(std::string_view text, char close) {
  return find_unquoted(text, close) != std::string_view::npos;
}

bool is_name(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'
          || c == '.'))
      return false;
  return true;
}

bool is_quoted(std::string_view value) {
  return value.size() >= 2 && value.front() == '"' && value.back() == '"';
}

} // namespace

std::optional<std::string> config_text_problem(std::string_view text,
                                               const option_lookup& lookup) {
  std::string section;
  char open_until = 0; // inside a [ ... ] or { ... } value spanning lines
  std::size_t number = 0;
  for (std::size_t pos = 0; pos <= text.size();) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos)
      end = text.size();
    auto line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++number;
    auto at = "line " + std::to_string(number) + ": ";
    if (open_until != 0) {
      if (closes(strip_comment(line), open_until))
        open_until = 0;
      continue;
    }
    if (line.empty() || line.front() == ';')
      continue;
    if (line.front() == '#')
      return at + "comments start with ';' in kvnode's config format, not '#'";
    if (line.front() == '[') {
      auto close = line.find(']');
      auto name = close == std::string_view::npos
                    ? std::string_view{}
                    : trim(line.substr(1, close - 1));
      if (!is_name(name) || !strip_comment(line.substr(close + 1)).empty())
        return at + "a section header is one name in brackets, like [global]";
      section = std::string{name};
      continue;
    }
    auto equals = line.find('=');
    if (equals == std::string_view::npos)
      return at + "expected 'name = value', a [section] or a '; comment'";
    auto key = trim(line.substr(0, equals));
    auto value = strip_comment(trim(line.substr(equals + 1)));
    if (!is_name(key))
      return at + "'" + std::string{key} + "' is not an option name";
    if (section.empty())
      return at + "options come after a section header such as [global]";
    auto kind = lookup(section, key);
    if (kind == option_kind::unknown)
      return at + "unknown option '" + std::string{key} + "' in ["
             + section + "]"
             + (section == "global" ? " (kvnode --dump-config lists them)"
                                    : "");
    if (value.empty())
      return at + "option '" + std::string{key} + "' has no value";
    if (kind == option_kind::text && !is_quoted(value))
      return at + "the value of '" + std::string{key}
             + "' is text: put it in double quotes (" + std::string{key}
             + " = \"" + std::string{value} + "\")";
    auto digits = value.substr(value.front() == '-' ? 1 : 0);
    if (kind == option_kind::number
        && (digits.empty()
            || digits.find_first_not_of("0123456789")
                 != std::string_view::npos))
      return at + "the value of '" + std::string{key}
             + "' is a whole number, not '" + std::string{value} + "'";
    if (value.front() == '[' && !closes(value, ']'))
      open_until = ']';
    else if (value.front() == '{' && !closes(value, '}'))
      open_until = '}';
  }
  if (open_until != 0)
    return std::string{"the file ends inside a value ("} + open_until
           + " missing)";
  return std::nullopt;
}

std::string render_config(const std::vector<documented_option>& options) {
  std::string out
    = "; kvnode configuration, as `kvnode --dump-config` writes it.\n"
      "; Use: kvnode --config-file=FILE; flags given on the command line\n"
      "; override the file. Format (CAF's INI dialect): comments start\n"
      "; with ';', text values are in double quotes, numbers are bare.\n"
      "; An unknown name is an error, so a typo never goes unnoticed.\n"
      "\n[global]\n";
  for (auto& option : options) {
    out += "\n; " + option.description + "\n";
    out += option.name + " = " + option.value + "\n";
  }
  return out;
}

std::optional<std::string> parser_error_place(std::string_view caf_error) {
  static const std::regex column{R"re("column" = ([0-9]+))re"};
  static const std::regex line{R"re("line" = ([0-9]+))re"};
  std::string text{caf_error};
  std::smatch c, l;
  if (!std::regex_search(text, l, line))
    return std::nullopt;
  std::string place = "line " + l[1].str();
  if (std::regex_search(text, c, column))
    place += ", column " + c[1].str();
  return place;
}

std::optional<std::string> parser_error_argument(std::string_view caf_error) {
  static const std::regex argument{R"re("argument" = "((?:[^"\\]|\\.)*)")re"};
  std::string text{caf_error};
  std::smatch m;
  if (!std::regex_search(text, m, argument))
    return std::nullopt;
  return m[1].str();
}

std::optional<std::string> read_password_file(const std::string& path,
                                              std::string& error) {
  std::ifstream in{path};
  if (!in) {
    error = path + " cannot be read";
    return std::nullopt;
  }
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  if (line.empty() || line.size() > 512) {
    error = path + ": its first line must hold the password (1 to 512 bytes)";
    return std::nullopt;
  }
  return line;
}

} // namespace kv
