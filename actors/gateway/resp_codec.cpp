#include "actors/gateway/resp_codec.hpp"

#include <charconv>

namespace kv::resp {

namespace {

// A header line ("*3", "$5") is a sign and at most 19 digits; a longer one
// is never valid, so the reader does not wait for its end.
constexpr std::size_t max_header_bytes = 32;

// The number in a header line [from, to), if it is one.
bool parse_length(const std::string& buffer, std::size_t from, std::size_t to,
                  int64_t& value) {
  if (from >= to)
    return false;
  auto first = buffer.data() + from;
  auto last = buffer.data() + to;
  auto [end, ec] = std::from_chars(first, last, value);
  return ec == std::errc{} && end == last;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Splits an inline command the way redis-server does: words separated by
// blanks, "double quotes" with C escapes, 'single quotes' with \' only.
// False for unbalanced quotes.
bool split_inline(std::string_view line, std::vector<std::string>& words) {
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && is_space(line[i]))
      ++i;
    if (i == line.size())
      return true;
    std::string word;
    char quote = 0; // the quote the word is inside, if any
    while (true) {
      if (quote == 0) {
        if (i == line.size() || is_space(line[i]))
          break;
        if (line[i] == '"' || line[i] == '\'')
          quote = line[i];
        else
          word += line[i];
        ++i;
        continue;
      }
      if (i == line.size())
        return false;
      char c = line[i];
      if (c == quote) {
        ++i;
        // A closing quote must end the word.
        if (i < line.size() && !is_space(line[i]))
          return false;
        break;
      }
      bool escaped = c == '\\' && i + 1 < line.size();
      if (escaped && quote == '\'') {
        if (line[i + 1] == '\'') {
          word += '\'';
          i += 2;
          continue;
        }
      } else if (escaped && line[i + 1] == 'x' && i + 3 < line.size()
                 && hex_value(line[i + 2]) >= 0 && hex_value(line[i + 3]) >= 0) {
        word += static_cast<char>(hex_value(line[i + 2]) * 16
                                  + hex_value(line[i + 3]));
        i += 4;
        continue;
      } else if (escaped) {
        char e = line[i + 1];
        word += e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t'
                : e == 'b' ? '\b' : e == 'a' ? '\a' : e;
        i += 2;
        continue;
      }
      word += c;
      ++i;
    }
    words.push_back(std::move(word));
  }
}

} // namespace

reader::reader(reader_limits limits) : limits_(limits) {
  // Nothing
}

void reader::feed(const char* data, std::size_t size) {
  // Taken commands are dropped once they are most of the buffer, so each
  // byte moves a bounded number of times.
  if (start_ > 0 && start_ * 2 >= buffer_.size()) {
    buffer_.erase(0, start_);
    for (auto& span : spans_)
      span.first -= start_;
    if (pending_count_ > 0)
      scan_ -= start_;
    start_ = 0;
  }
  buffer_.append(data, size);
}

bool reader::header_too_long(std::size_t from, std::size_t line_end) const {
  // Without its CRLF yet the line ends at the last byte at the earliest
  // (a '\r' there): judged the same however the bytes were split.
  if (line_end == std::string::npos)
    return buffer_.size() - from > max_header_bytes + 1;
  return line_end - from > max_header_bytes;
}

void reader::release_if_drained() {
  if (start_ != buffer_.size())
    return;
  buffer_.clear();
  start_ = 0;
  // A burst's buffer is not kept by a connection that went idle.
  if (buffer_.capacity() > 64 * 1024)
    std::string{}.swap(buffer_);
}

reader::status reader::fail(std::string why) {
  error_ = "Protocol error: " + std::move(why);
  return status::protocol_error;
}

reader::status reader::next_inline(std::vector<std::string>& args) {
  // Bytes already searched are not searched again.
  auto end = buffer_.find('\n', start_ + inline_searched_);
  if (end == std::string::npos) {
    if (buffered() > limits_.max_inline_bytes)
      return fail("too big inline request");
    inline_searched_ = buffered();
    return status::incomplete;
  }
  inline_searched_ = 0;
  if (end - start_ > limits_.max_inline_bytes)
    return fail("too big inline request");
  std::string_view line{buffer_.data() + start_, end - start_};
  std::vector<std::string> words;
  if (!split_inline(line, words))
    return fail("unbalanced quotes in request");
  if (words.size() > limits_.max_arguments)
    return fail("invalid multibulk length");
  start_ = end + 1;
  args = std::move(words);
  release_if_drained();
  return status::command;
}

reader::status reader::next(std::vector<std::string>& args) {
  if (!error_.empty())
    return status::protocol_error;
  while (start_ < buffer_.size()) {
    if (buffer_[start_] != '*') {
      auto got = next_inline(args);
      if (got == status::command && args.empty())
        continue; // an empty line: redis-server ignores it too
      return got;
    }
    if (pending_count_ == 0) {
      auto line_end = buffer_.find("\r\n", start_);
      if (header_too_long(start_, line_end))
        return fail("too big mbulk count string");
      if (line_end == std::string::npos)
        return status::incomplete;
      int64_t count = 0;
      if (!parse_length(buffer_, start_ + 1, line_end, count)
          || count > static_cast<int64_t>(limits_.max_arguments))
        return fail("invalid multibulk length");
      if (count <= 0) {
        start_ = line_end + 2; // *0 and *-1: nothing to run
        continue;
      }
      pending_count_ = static_cast<std::size_t>(count);
      spans_.clear();
      scan_ = line_end + 2;
    }
    // Arguments already cut stay cut while the rest arrives: a client
    // sending a byte at a time costs linear time, not quadratic.
    while (spans_.size() < pending_count_) {
      if (scan_ >= buffer_.size())
        return status::incomplete;
      if (buffer_[scan_] != '$')
        return fail(std::string{"expected '$', got '"} + buffer_[scan_] + "'");
      auto bulk_end = buffer_.find("\r\n", scan_);
      if (header_too_long(scan_, bulk_end))
        return fail("invalid bulk length");
      if (bulk_end == std::string::npos)
        return status::incomplete;
      int64_t size = 0;
      if (!parse_length(buffer_, scan_ + 1, bulk_end, size) || size < 0
          || static_cast<uint64_t>(size) > limits_.max_bulk_bytes)
        return fail("invalid bulk length");
      auto from = bulk_end + 2;
      auto usize = static_cast<std::size_t>(size);
      if (from - start_ + usize > limits_.max_command_bytes)
        return fail("command larger than "
                    + std::to_string(limits_.max_command_bytes) + " bytes");
      if (buffer_.size() < from + usize + 2)
        return status::incomplete;
      if (buffer_[from + usize] != '\r' || buffer_[from + usize + 1] != '\n')
        return fail("bulk string not terminated by CRLF");
      spans_.emplace_back(from, usize);
      scan_ = from + usize + 2;
    }
    args.clear();
    args.reserve(spans_.size());
    for (auto [from, size] : spans_)
      args.emplace_back(buffer_, from, size);
    start_ = scan_;
    pending_count_ = 0;
    spans_.clear();
    release_if_drained();
    return status::command;
  }
  return status::incomplete;
}

std::string one_line(std::string_view message) {
  std::string line{message};
  for (auto& c : line)
    if (c == '\r' || c == '\n')
      c = ' ';
  return line;
}

void simple(std::string& out, std::string_view text) {
  out += '+';
  out += text;
  out += "\r\n";
}

void error(std::string& out, std::string_view message) {
  out += '-';
  out += one_line(message);
  out += "\r\n";
}

void integer(std::string& out, int64_t value) {
  out += ':';
  out += std::to_string(value);
  out += "\r\n";
}

void bulk(std::string& out, std::string_view data) {
  out += '$';
  out += std::to_string(data.size());
  out += "\r\n";
  out += data;
  out += "\r\n";
}

void null(std::string& out, int version) {
  out += version >= 3 ? "_\r\n" : "$-1\r\n";
}

void array(std::string& out, std::size_t count) {
  out += '*';
  out += std::to_string(count);
  out += "\r\n";
}

void null_array(std::string& out, int version) {
  out += version >= 3 ? "_\r\n" : "*-1\r\n";
}

void map(std::string& out, std::size_t pairs, int version) {
  if (version >= 3) {
    out += '%';
    out += std::to_string(pairs);
    out += "\r\n";
  } else {
    array(out, pairs * 2);
  }
}

void set(std::string& out, std::size_t count, int version) {
  if (version >= 3) {
    out += '~';
    out += std::to_string(count);
    out += "\r\n";
  } else {
    array(out, count);
  }
}

void verbatim(std::string& out, std::string_view text, int version) {
  if (version < 3) {
    bulk(out, text);
    return;
  }
  out += '=';
  out += std::to_string(text.size() + 4);
  out += "\r\ntxt:";
  out += text;
  out += "\r\n";
}

} // namespace kv::resp
