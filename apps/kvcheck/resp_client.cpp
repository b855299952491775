#include "apps/kvcheck/resp_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "actors/membership/tcp_probe.hpp"
#include "messages/caf_types.hpp"

namespace kv::check {

namespace {

// The longest reply kvcheck reads: its values are short.
constexpr std::size_t max_reply_bytes = 16 * 1024 * 1024;

std::string command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto& arg : args)
    out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
  return out;
}

// The kv error an error reply names ("ERR write_quorum_failed: ..."), or a
// runtime error with the reply's text.
caf::error error_of(const std::string& text) {
  auto space = text.find(' ');
  auto rest = space == std::string::npos ? text : text.substr(space + 1);
  auto colon = rest.find(": ");
  if (colon != std::string::npos) {
    auto name = rest.substr(0, colon);
    for (auto code = static_cast<int>(kv_errc::invalid_argument);
         code <= static_cast<int>(kv_errc::not_authorized); ++code)
      if (name == to_string(static_cast<kv_errc>(code)))
        return make_kv_error(static_cast<kv_errc>(code),
                             rest.substr(colon + 2));
  }
  return caf::make_error(caf::sec::runtime_error, "the gateway said: " + text);
}

} // namespace

resp_client::resp_client(std::string host, uint16_t port, std::string password,
                         request_options options,
                         std::chrono::milliseconds limit)
  : host_(std::move(host)), port_(port), password_(std::move(password)),
    options_(options), limit_(limit) {
  // nop
}

resp_client::~resp_client() {
  if (fd_ >= 0)
    ::close(fd_);
}

caf::error resp_client::drop(std::string why) {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  in_.clear();
  return caf::make_error(caf::sec::runtime_error,
                         "redis " + host_ + ":" + std::to_string(port_) + ": "
                           + why);
}

caf::error resp_client::ensure_connected() {
  if (fd_ >= 0)
    return caf::none;
  std::string error;
  int fd = start_tcp_connect(host_, port_, error);
  if (fd < 0)
    return drop("connect: " + error);
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(limit_.count())) != 1) {
    ::close(fd);
    return drop("connect: no answer within the limit");
  }
  error = tcp_connect_result(fd);
  if (!error.empty()) {
    ::close(fd);
    return drop("connect: " + error);
  }
  fd_ = fd;
  // The session's settings: its password and N/R/W.
  std::vector<std::vector<std::string>> setup;
  if (!password_.empty())
    setup.push_back({"AUTH", password_});
  if (options_.n != 0 || options_.r != 0 || options_.w != 0)
    setup.push_back({"KV.CONSISTENCY", consistency_level_name(options_.n),
                     consistency_level_name(options_.r),
                     consistency_level_name(options_.w)});
  for (auto& args : setup) {
    auto got = call(args);
    if (!got)
      return std::move(got.error());
    if (got->type == '-')
      return drop(args[0] + ": " + got->text);
  }
  return caf::none;
}

caf::error resp_client::send_all(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(limit_.count())) != 1)
      return drop("send: timed out");
    auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent,
                    MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    if (n <= 0)
      return drop(std::string{"send: "} + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
  return caf::none;
}

caf::error resp_client::fill(std::size_t bytes) {
  char buf[16384];
  while (in_.size() < bytes) {
    if (in_.size() > max_reply_bytes)
      return drop("a reply larger than kvcheck reads");
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit_.count())) != 1)
      return drop("no reply within the limit");
    auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    if (n <= 0)
      return drop(n == 0 ? "the gateway closed the connection"
                         : std::string{"recv: "} + std::strerror(errno));
    in_.append(buf, static_cast<std::size_t>(n));
  }
  return caf::none;
}

caf::expected<std::string> resp_client::read_line() {
  std::size_t end;
  while ((end = in_.find("\r\n")) == std::string::npos)
    if (auto err = fill(in_.size() + 1))
      return err;
  auto line = in_.substr(0, end);
  in_.erase(0, end + 2);
  return line;
}

caf::expected<resp_client::reply> resp_client::read_reply(int depth) {
  if (depth > 4)
    return drop("replies nested deeper than kvcheck reads");
  auto line = read_line();
  if (!line)
    return std::move(line.error());
  if (line->empty())
    return drop("an empty reply line");
  reply out;
  out.type = (*line)[0];
  auto rest = line->substr(1);
  switch (out.type) {
    case '+':
    case '-':
    case ':':
      out.text = rest;
      return out;
    case '_':
      out.type = 0;
      return out;
    case '$': {
      auto size = std::stol(rest);
      if (size < 0) {
        out.type = 0;
        return out;
      }
      auto bytes = static_cast<std::size_t>(size);
      if (auto err = fill(bytes + 2))
        return err;
      out.text = in_.substr(0, bytes);
      in_.erase(0, bytes + 2);
      return out;
    }
    case '*': {
      auto count = std::stol(rest);
      if (count < 0) {
        out.type = 0;
        return out;
      }
      for (long i = 0; i < count; ++i) {
        auto item = read_reply(depth + 1);
        if (!item)
          return item;
        out.items.push_back(std::move(*item));
      }
      return out;
    }
    default:
      return drop("a reply of unknown type '" + std::string(1, out.type)
                  + "'");
  }
}

caf::expected<resp_client::reply>
resp_client::call(const std::vector<std::string>& args) {
  if (auto err = send_all(command(args)))
    return err;
  return read_reply(0);
}

caf::expected<put_result>
resp_client::write(const std::vector<std::string>& args) {
  if (auto err = ensure_connected())
    return err;
  auto got = call(args);
  if (!got)
    return std::move(got.error());
  if (got->type == '-')
    return error_of(got->text);
  return put_result{};
}

caf::expected<put_result> resp_client::set(const std::string& key,
                                           const std::string& value) {
  return write({"SET", key, value});
}

caf::expected<put_result> resp_client::put(const std::string& key,
                                           const std::string& value,
                                           const vector_clock& context) {
  if (auto err = ensure_connected())
    return err;
  auto got = context.empty()
               ? call({"KV.PUT", key, value})
               : call({"KV.PUT", key, value, context.to_token()});
  if (!got)
    return std::move(got.error());
  if (got->type == '-')
    return error_of(got->text);
  auto parsed = vector_clock::from_token(got->text);
  if (got->type != '$' || !parsed)
    return drop("KV.PUT replied with no context");
  put_result result;
  result.context = std::move(*parsed);
  return result;
}

caf::expected<get_result> resp_client::get(const std::string& key) {
  if (auto err = ensure_connected())
    return err;
  auto got = call({"KV.GET", key});
  if (!got)
    return std::move(got.error());
  if (got->type == '-')
    return error_of(got->text);
  if (got->type != '*' || got->items.size() != 2
      || got->items[1].type != '*')
    return drop("KV.GET replied with something else than [context, values]");
  auto context = vector_clock::from_token(got->items[0].text);
  if (!context)
    return drop("KV.GET replied with no context");
  get_result result;
  result.context = std::move(*context);
  for (auto& item : got->items[1].items) {
    versioned_value version;
    version.value = item.text;
    result.siblings.push_back(std::move(version));
  }
  return result;
}

caf::expected<put_result> resp_client::remove(const std::string& key) {
  return write({"DEL", key});
}

} // namespace kv::check
