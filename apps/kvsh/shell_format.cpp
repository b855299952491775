#include "apps/kvsh/shell_format.hpp"

#include <cstdio>
#include <ctime>

namespace kv {

namespace {

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

bool needs_quoting(std::string_view value) {
  if (value.empty() || value.front() == '"' || value.front() == '('
      || is_blank(value.front()) || is_blank(value.back()))
    return true;
  for (unsigned char c : value)
    if (is_control(c))
      return true;
  return false;
}

std::string quote(std::string_view value) {
  std::string out = "\"";
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (is_control(c)) {
          char buf[5];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

} // namespace

std::string format_timestamp(uint64_t ms_since_epoch) {
  auto seconds = static_cast<std::time_t>(ms_since_epoch / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                utc.tm_min, utc.tm_sec,
                static_cast<unsigned>(ms_since_epoch % 1000));
  return buf;
}

std::string format_value(std::string_view value) {
  return needs_quoting(value) ? quote(value) : std::string{value};
}

std::string format_get(const get_result& result) {
  // The node returns live values only; filtering again keeps a tombstone
  // from ever printing as an empty value.
  auto live = live_values(result.siblings);
  if (live.empty())
    return "(not found)\n";
  std::string out;
  if (live.size() > 1)
    out += "(" + std::to_string(live.size()) + " siblings)\n";
  for (auto& v : live) {
    out += format_value(v.value);
    out += "\n  clock ";
    out += v.history().to_string();
    out += " written ";
    out += format_timestamp(v.timestamp_ms);
    out += '\n';
  }
  out += "  context ";
  out += result.context.to_token();
  out += '\n';
  return out;
}

std::string format_write(const put_result& result) {
  return "ok\n  clock " + result.context.to_string() + "\n";
}

} // namespace kv
