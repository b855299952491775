#pragma once

// The Redis serialization protocol (RESP) as the gateway speaks it: a
// reader that cuts a connection's bytes into commands, and writers of the
// reply types. No CAF: unit-tested and fuzzed on its own
// (tests/unit/test_resp_codec.cpp, tests/fuzz/fuzz_resp_reader.cpp).
//
// Every bound is checked before anything is allocated for it: a client
// cannot make the reader hold more than `max_command_bytes` of one command
// nor spend more than linear time on what it sent.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kv::resp {

struct reader_limits {
  std::size_t max_arguments = 16 * 1024;   // per command (MSET's pairs)
  std::size_t max_bulk_bytes = 2 * 1024 * 1024; // one argument
  std::size_t max_command_bytes = 32 * 1024 * 1024; // one whole command
  std::size_t max_inline_bytes = 64 * 1024; // a command typed as one line
};

// Reads commands: RESP arrays of bulk strings (what every client library
// sends) and inline commands (a line of words, what telnet sends).
class reader {
public:
  enum class status { incomplete, command, protocol_error };

  explicit reader(reader_limits limits = {});

  // Appends bytes received.
  void feed(const char* data, std::size_t size);

  // Bounds for the commands not cut yet (a client that authenticated gets
  // wider ones).
  void set_limits(reader_limits limits) { limits_ = limits; }

  // The next whole command into `args` (command name first), or
  // `incomplete` until more bytes arrive. After `protocol_error` (see
  // error()) the stream cannot be resynchronised: answer and close.
  status next(std::vector<std::string>& args);

  // Why the stream is unreadable, in Redis's words.
  const std::string& error() const { return error_; }

  // Bytes received and not yet taken as commands.
  std::size_t buffered() const { return buffer_.size() - start_; }

  // Bytes of memory the reader holds for them.
  std::size_t held() const { return buffer_.capacity(); }

private:
  status fail(std::string why);
  // Empties the buffer once every byte in it is taken.
  void release_if_drained();
  // Whether the header line starting at `from` (its CRLF at `line_end`,
  // npos: not here yet) is longer than any valid one.
  bool header_too_long(std::size_t from, std::size_t line_end) const;
  status next_inline(std::vector<std::string>& args);

  reader_limits limits_;
  std::string buffer_;
  std::size_t start_ = 0; // where the next command begins in buffer_
  // The array being cut: its length (0: none), the arguments found so far
  // (offset, size) and where the next one starts.
  std::size_t pending_count_ = 0;
  std::vector<std::pair<std::size_t, std::size_t>> spans_;
  std::size_t scan_ = 0;
  // Bytes after start_ known to hold no end of an inline command.
  std::size_t inline_searched_ = 0;
  std::string error_;
};

// Reply writers: each appends one RESP value to `out`. `version` 2 or 3
// (HELLO) decides the types RESP2 lacks: null, maps, doubles, booleans.
void simple(std::string& out, std::string_view text);   // +OK
void error(std::string& out, std::string_view message); // -ERR ... (one line)
void integer(std::string& out, int64_t value);
void bulk(std::string& out, std::string_view data);
void null(std::string& out, int version);
void array(std::string& out, std::size_t count);
void null_array(std::string& out, int version);
// A map of `pairs` entries (RESP3) or an array of 2 * pairs (RESP2): the
// caller then writes key, value, key, value...
void map(std::string& out, std::size_t pairs, int version);
// A set (RESP3) or an array (RESP2).
void set(std::string& out, std::size_t count, int version);
// Text for people (INFO): a verbatim string in RESP3, a bulk string in RESP2.
void verbatim(std::string& out, std::string_view text, int version);

// The error's message with CR and LF replaced: an error reply is one line.
std::string one_line(std::string_view message);

} // namespace kv::resp
