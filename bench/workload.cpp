#include "bench/workload.hpp"

#include <algorithm>

#include <sys/resource.h>

namespace kv {

op_stream::op_stream(const key_generator& keys, double read_ratio,
                     uint64_t seed, uint32_t client_index)
  : keys_(keys),
    read_ratio_(read_ratio),
    // Mixing the index through the RNG's own step keeps client streams apart
    // even for adjacent seeds.
    rng_(bench_rng{seed ^ (0x9e3779b97f4a7c15ULL * (client_index + 1))}
           .next()) {
  // nop
}

bench_op op_stream::next() {
  bench_op op;
  // Exactly 0 and 1 must never draw the other kind of operation.
  op.read = read_ratio_ >= 1.0
            || (read_ratio_ > 0.0 && rng_.next_double() < read_ratio_);
  op.key = keys_.next(rng_);
  return op;
}

std::string make_value(uint32_t size, uint64_t seed) {
  static constexpr char alphabet[]
    = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
  bench_rng rng{seed ^ 0x5bd1e995ULL};
  std::string out(size, ' ');
  for (auto& c : out)
    c = alphabet[rng.next() & 63];
  return out;
}

key_slice slice_of(uint64_t keys, uint32_t parts, uint32_t i) {
  auto base = keys / parts;
  auto extra = keys % parts;
  auto begin = i * base + std::min<uint64_t>(i, extra);
  return {begin, begin + base + (i < extra ? 1 : 0)};
}

double process_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

} // namespace kv
