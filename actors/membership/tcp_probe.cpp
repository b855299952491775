#include "actors/membership/tcp_probe.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace kv {

namespace {

std::string reason(int code) {
  std::string text = std::strerror(code);
  if (!text.empty())
    text[0] = static_cast<char>(
      std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

} // namespace

int start_tcp_connect(const std::string& host, uint16_t port,
                      std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (auto rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found)) {
    error = ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  int last = 0;
  for (auto* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = errno;
      continue;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0)
    error = reason(last);
  return fd;
}

std::string tcp_connect_result(int fd) {
  int code = 0;
  socklen_t len = sizeof(code);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &len) != 0)
    code = errno;
  return code == 0 ? std::string{} : reason(code);
}

std::string tcp_connect_problem(const std::string& host, uint16_t port,
                                std::chrono::milliseconds limit) {
  std::string error;
  int fd = start_tcp_connect(host, port, error);
  if (fd < 0)
    return error;
  pollfd p{fd, POLLOUT, 0};
  auto ready = ::poll(&p, 1, static_cast<int>(limit.count()));
  auto result = ready == 0 ? reason(ETIMEDOUT) : tcp_connect_result(fd);
  ::close(fd);
  return result;
}

std::string tcp_listen_problem(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  auto where = "port " + service + " on " + host;
  if (auto rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found))
    return "cannot resolve --host " + host + ": " + ::gai_strerror(rc);
  int last = 0;
  bool opened = false;
  for (auto* a = found; a != nullptr && !opened; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = errno;
      continue;
    }
    int on = 1; // as the middleman does: a port in TIME_WAIT is free
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 1) == 0)
      opened = true;
    else
      last = errno;
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (opened)
    return {};
  switch (last) {
    case EADDRINUSE:
      return where + " is already in use (another kvnode, or another "
                     "program); choose a free one with --port";
    case EADDRNOTAVAIL:
      return host + " is not an address of this machine; choose one of its "
                    "own with --host";
    case EACCES:
      return where + " needs privileges (ports below 1024); choose a port "
                     "above 1023 with --port";
    default:
      return "cannot listen on " + where + ": " + reason(last);
  }
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

} // namespace kv
