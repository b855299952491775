#pragma once

// How busy this process keeps the cores it may run on, between two
// readings: what a node gossips as its CPU load (node_load::cpu_permille).

#include <cstdint>
#include <optional>

namespace kv {

// The share (0..1) of `cores` that `cpu_us` of process time fills over
// `wall_us`: 0 when no time passed or no core is known.
double cpu_share(uint64_t cpu_us, uint64_t wall_us, unsigned cores);

class cpu_meter {
public:
  cpu_meter();

  // The share since the last call (or since construction); nullopt when
  // the process's times cannot be read.
  std::optional<double> sample();

private:
  unsigned cores_;
  uint64_t last_cpu_us_ = 0;
  uint64_t last_wall_us_ = 0;
  bool have_last_ = false;
};

} // namespace kv
