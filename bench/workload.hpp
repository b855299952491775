#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "bench/key_generator.hpp"

namespace kv {

struct bench_op {
  bool read;
  uint64_t key;
};

// The operation sequence of one client: its own RNG (seeded from the run
// seed and the client index) over a key generator shared by all clients.
class op_stream {
public:
  op_stream(const key_generator& keys, double read_ratio, uint64_t seed,
            uint32_t client_index);

  bench_op next();

private:
  const key_generator& keys_;
  double read_ratio_;
  bench_rng rng_;
};

// Value bytes of a run: printable and pseudo-random, so snappy finds as
// little to compress for the raw baseline as for the store.
std::string make_value(uint32_t size, uint64_t seed);

// Splits [0, keys) into `parts` contiguous slices; slice i is [begin, end).
struct key_slice {
  uint64_t begin;
  uint64_t end;
};
key_slice slice_of(uint64_t keys, uint32_t parts, uint32_t i);

// CPU time (user + system) this process has used, all threads.
double process_cpu_seconds();

} // namespace kv
