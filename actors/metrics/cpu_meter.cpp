#include "actors/metrics/cpu_meter.hpp"

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace kv {

namespace {

// The cores this process may be scheduled on (its affinity mask, which a
// container or taskset narrows), not the machine's.
unsigned usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    auto n = CPU_COUNT(&set);
    if (n > 0)
      return static_cast<unsigned>(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

uint64_t micros(const timeval& t) {
  return static_cast<uint64_t>(t.tv_sec) * 1'000'000
         + static_cast<uint64_t>(t.tv_usec);
}

std::optional<uint64_t> process_cpu_us() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0)
    return std::nullopt;
  return micros(usage.ru_utime) + micros(usage.ru_stime);
}

uint64_t steady_us() {
  return static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now().time_since_epoch())
      .count());
}

} // namespace

double cpu_share(uint64_t cpu_us, uint64_t wall_us, unsigned cores) {
  if (wall_us == 0 || cores == 0)
    return 0;
  auto share = static_cast<double>(cpu_us)
               / (static_cast<double>(wall_us) * cores);
  return std::min(1.0, share);
}

cpu_meter::cpu_meter() : cores_(usable_cores()) {
  if (auto cpu = process_cpu_us()) {
    last_cpu_us_ = *cpu;
    last_wall_us_ = steady_us();
    have_last_ = true;
  }
}

std::optional<double> cpu_meter::sample() {
  auto cpu = process_cpu_us();
  if (!cpu)
    return std::nullopt;
  auto wall = steady_us();
  std::optional<double> share;
  if (have_last_ && *cpu >= last_cpu_us_)
    share = cpu_share(*cpu - last_cpu_us_, wall - last_wall_us_, cores_);
  last_cpu_us_ = *cpu;
  last_wall_us_ = wall;
  have_last_ = true;
  return share;
}

} // namespace kv
