#include "actors/metrics/http_request.hpp"

#include <cctype>

namespace kv {

namespace {

request_head refuse(int code, std::string why) {
  request_head head;
  head.status = request_head::state::bad;
  head.error_code = code;
  head.error = std::move(why);
  return head;
}

const char* reason_phrase(int code) {
  switch (code) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

bool is_token(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!std::isupper(static_cast<unsigned char>(c)))
      return false;
  return true;
}

} // namespace

request_head read_request_head(std::string_view received) {
  auto end = received.find("\r\n\r\n");
  auto bare_end = received.find("\n\n");
  if (end == std::string_view::npos && bare_end == std::string_view::npos) {
    if (received.size() > max_request_head_bytes)
      return refuse(431, "the request head is larger than 8 KiB");
    // The request line alone can already be judged.
    auto line_end = received.find('\n');
    if (line_end == std::string_view::npos)
      return request_head{};
  } else {
    auto head_size = end != std::string_view::npos ? end : bare_end;
    if (head_size > max_request_head_bytes)
      return refuse(431, "the request head is larger than 8 KiB");
  }
  auto line_end = received.find('\n');
  auto line = received.substr(0, line_end);
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  auto first_space = line.find(' ');
  auto second_space = first_space == std::string_view::npos
                        ? std::string_view::npos
                        : line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos
      || line.find(' ', second_space + 1) != std::string_view::npos)
    return refuse(400, "the request line is not METHOD PATH VERSION");
  auto method = line.substr(0, first_space);
  auto target = line.substr(first_space + 1, second_space - first_space - 1);
  auto version = line.substr(second_space + 1);
  if (!is_token(method) || target.empty() || target.front() != '/'
      || (version != "HTTP/1.1" && version != "HTTP/1.0"))
    return refuse(400, "the request line is not METHOD PATH VERSION");
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return refuse(400, "the path holds control characters");
  if (end == std::string_view::npos && bare_end == std::string_view::npos)
    return request_head{}; // the line is fine; the headers are not in yet
  request_head head;
  head.status = request_head::state::complete;
  head.method = std::string{method};
  head.path = std::string{target.substr(0, target.find('?'))};
  return head;
}

std::string http_response(int code, std::string_view content_type,
                          std::string_view body, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(code) + " "
                    + reason_phrase(code) + "\r\n";
  out += "Content-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
  if (!head_only)
    out += body;
  return out;
}

} // namespace kv
