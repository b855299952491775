#include "actors/tcp_probe.hpp"

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

// Returns errno of a connect to `addr` (0: connected), waiting at most
// `limit` so a black-holed address cannot stall the shell again.
int try_connect(const addrinfo& addr, std::chrono::milliseconds limit) {
  int fd = ::socket(addr.ai_family, addr.ai_socktype, addr.ai_protocol);
  if (fd < 0)
    return errno;
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  int result = 0;
  if (::connect(fd, addr.ai_addr, addr.ai_addrlen) != 0) {
    result = errno;
    if (result == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      auto ready = ::poll(&p, 1, static_cast<int>(limit.count()));
      if (ready == 0) {
        result = ETIMEDOUT;
      } else {
        socklen_t len = sizeof(result);
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &result, &len);
      }
    }
  }
  ::close(fd);
  return result;
}

} // namespace

std::string tcp_connect_problem(const std::string& host, uint16_t port,
                                std::chrono::milliseconds limit) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (auto rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found))
    return ::gai_strerror(rc);
  int last = 0;
  for (auto* a = found; a != nullptr; a = a->ai_next)
    if ((last = try_connect(*a, limit)) == 0)
      break;
  ::freeaddrinfo(found);
  if (last == 0)
    return {};
  std::string text = std::strerror(last);
  if (!text.empty())
    text[0] = static_cast<char>(
      std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

} // namespace kv
