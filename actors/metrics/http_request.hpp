#pragma once

// The little of HTTP/1.x the status server needs: reading a request's head
// from untrusted bytes, within a size bound, and writing a response. Plain
// C++, unit-tested without sockets.

#include <cstddef>
#include <string>
#include <string_view>

namespace kv {

// The most a request head may take; more is refused with 431.
constexpr std::size_t max_request_head_bytes = 8 * 1024;

struct request_head {
  enum class state { incomplete, complete, bad };
  state status = state::incomplete;
  std::string method; // "GET", "HEAD"
  std::string path;   // without the query string
  int error_code = 0; // for bad: the HTTP status to answer with
  std::string error;  // for bad: why
};

// Reads the request head at the start of `received` (everything the client
// sent so far). Complete once the blank line after the headers arrived;
// bad for anything that is not a plain HTTP/1.0 or 1.1 request line, or
// once the head exceeds max_request_head_bytes without ending.
request_head read_request_head(std::string_view received);

// A whole response that closes the connection.
std::string http_response(int code, std::string_view content_type,
                          std::string_view body, bool head_only = false);

} // namespace kv
