// resp_rate: an open-loop load of SET and GET over the Redis protocol at a
// fixed rate, for latency at a given load (docs/performance.md#redis).
// redis-benchmark is closed-loop: a slow reply delays the next request, so
// its latencies hide the queueing a real load would see. Here request i is
// due at start + i / rate whatever came back, and its latency counts from
// that due time (no coordinated omission). Works against redis-server and
// kvnode's --resp-port alike.
//
// usage: resp_rate --port=P [--host=127.0.0.1] --rate=OPS_PER_S
//          [--connections=50] [--seconds=10] [--value=100] [--keys=100000]
//          [--reads=0.5]
// Prints one line: rate=... done=... errors=... p50_us=... p99_us=...
// p999_us=... max_us=...

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::string host = "127.0.0.1";
  int port = 0;
  double rate = 0;
  int connections = 50;
  double seconds = 10;
  std::size_t value = 100;
  uint32_t keys = 100000;
  double reads = 0.5;
};

bool flag(const char* arg, const char* name, std::string& value) {
  auto size = std::strlen(name);
  if (std::strncmp(arg, name, size) != 0 || arg[size] != '=')
    return false;
  value = arg + size + 1;
  return true;
}

struct connection {
  int fd = -1;
  std::string out;
  std::size_t sent = 0;
  std::string in;
  std::deque<clock_type::time_point> due; // of the requests awaiting replies
};

// The length of the first complete reply in `in` from `at` (0: incomplete);
// sets `error` for an error reply. Replies here are +, -, : or $.
std::size_t reply_length(const std::string& in, std::size_t at, bool& error) {
  auto end = in.find("\r\n", at);
  if (end == std::string::npos)
    return 0;
  error = in[at] == '-';
  if (in[at] != '$')
    return end + 2 - at;
  long size = std::strtol(in.c_str() + at + 1, nullptr, 10);
  if (size < 0)
    return end + 2 - at;
  auto total = end + 2 + static_cast<std::size_t>(size) + 2;
  return in.size() >= total ? total - at : 0;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (flag(argv[i], "--host", v)) o.host = v;
    else if (flag(argv[i], "--port", v)) o.port = std::stoi(v);
    else if (flag(argv[i], "--rate", v)) o.rate = std::stod(v);
    else if (flag(argv[i], "--connections", v)) o.connections = std::stoi(v);
    else if (flag(argv[i], "--seconds", v)) o.seconds = std::stod(v);
    else if (flag(argv[i], "--value", v)) o.value = std::stoul(v);
    else if (flag(argv[i], "--keys", v)) o.keys = static_cast<uint32_t>(std::stoul(v));
    else if (flag(argv[i], "--reads", v)) o.reads = std::stod(v);
    else {
      std::fprintf(stderr, "resp_rate: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (o.port <= 0 || o.rate <= 0 || o.connections <= 0) {
    std::fprintf(stderr, "usage: resp_rate --port=P --rate=OPS [--connections=50] "
                         "[--seconds=10] [--value=100] [--keys=100000] [--reads=0.5]\n");
    return 2;
  }
  std::vector<connection> links(static_cast<std::size_t>(o.connections));
  for (auto& l : links) {
    l.fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(o.port));
    ::inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr);
    if (::connect(l.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::perror("resp_rate: connect");
      return 1;
    }
    int one = 1;
    ::setsockopt(l.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(l.fd, F_SETFL, O_NONBLOCK);
  }
  std::string value(o.value, 'x');
  std::mt19937_64 random{42};
  auto total = static_cast<uint64_t>(o.rate * o.seconds);
  auto start = clock_type::now() + std::chrono::milliseconds{100};
  auto due_of = [&](uint64_t i) {
    return start + std::chrono::nanoseconds{
                     static_cast<int64_t>(1e9 * static_cast<double>(i) / o.rate)};
  };
  std::vector<int64_t> latencies;
  latencies.reserve(total);
  uint64_t issued = 0, done = 0, errors = 0;
  auto deadline = due_of(total) + std::chrono::seconds{10};
  std::vector<pollfd> fds(links.size());
  char buf[65536];
  while (done < total && clock_type::now() < deadline) {
    auto now = clock_type::now();
    while (issued < total && due_of(issued) <= now) {
      auto& l = links[issued % links.size()];
      auto key = "key:" + std::to_string(random() % o.keys);
      bool read = std::uniform_real_distribution<double>{0, 1}(random) < o.reads;
      if (read) {
        l.out += "*2\r\n$3\r\nGET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
      } else {
        l.out += "*3\r\n$3\r\nSET\r\n$" + std::to_string(key.size()) + "\r\n" + key
                 + "\r\n$" + std::to_string(value.size()) + "\r\n" + value + "\r\n";
      }
      l.due.push_back(due_of(issued));
      ++issued;
    }
    for (std::size_t i = 0; i < links.size(); ++i) {
      fds[i].fd = links[i].fd;
      fds[i].events = POLLIN | (links[i].sent < links[i].out.size() ? POLLOUT : 0);
      fds[i].revents = 0;
    }
    int wait_ms = 1;
    if (issued < total) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(
        due_of(issued) - clock_type::now());
      wait_ms = static_cast<int>(std::clamp<int64_t>(until.count(), 0, 5));
    }
    ::poll(fds.data(), fds.size(), wait_ms);
    for (std::size_t i = 0; i < links.size(); ++i) {
      auto& l = links[i];
      if (fds[i].revents & POLLOUT) {
        auto n = ::send(l.fd, l.out.data() + l.sent, l.out.size() - l.sent, MSG_NOSIGNAL);
        if (n > 0) {
          l.sent += static_cast<std::size_t>(n);
          if (l.sent == l.out.size()) {
            l.out.clear();
            l.sent = 0;
          }
        }
      }
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        auto n = ::recv(l.fd, buf, sizeof buf, 0);
        if (n <= 0) {
          std::fprintf(stderr, "resp_rate: a connection closed\n");
          return 1;
        }
        l.in.append(buf, static_cast<std::size_t>(n));
        std::size_t at = 0;
        auto arrived = clock_type::now();
        while (at < l.in.size() && !l.due.empty()) {
          bool error = false;
          auto size = reply_length(l.in, at, error);
          if (size == 0)
            break;
          at += size;
          errors += error;
          latencies.push_back(std::chrono::duration_cast<std::chrono::microseconds>(
                                arrived - l.due.front()).count());
          l.due.pop_front();
          ++done;
        }
        l.in.erase(0, at);
      }
    }
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) -> int64_t {
    if (latencies.empty())
      return -1;
    auto index = static_cast<std::size_t>(p * static_cast<double>(latencies.size() - 1));
    return latencies[index];
  };
  double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  std::printf("rate=%.0f done=%llu errors=%llu achieved=%.0f p50_us=%lld p99_us=%lld "
              "p999_us=%lld max_us=%lld\n",
              o.rate, static_cast<unsigned long long>(done),
              static_cast<unsigned long long>(errors),
              static_cast<double>(done) / std::max(elapsed, 1e-9),
              static_cast<long long>(pct(0.5)), static_cast<long long>(pct(0.99)),
              static_cast<long long>(pct(0.999)), static_cast<long long>(pct(1.0)));
  for (auto& l : links)
    ::close(l.fd);
  return done == total ? 0 : 1;
}
