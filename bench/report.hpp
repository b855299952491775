#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_options.hpp"
#include "messages/latency_histogram.hpp"

namespace kv {

// Successful operations of one kind (their latencies) and failed ones.
struct op_stats {
  latency_histogram latency;
  uint64_t errors = 0;

  void merge(const op_stats& other);
};

// What one mode measured.
struct run_result {
  std::string mode;     // "raw", "embedded", "remote"
  double elapsed_s = 0; // wall time of the measured phase
  // CPU time (user + system) of the whole process during the measured
  // phase: on a machine with few cores the cost per operation says more
  // than throughput alone, and it is what a profile divides up.
  double cpu_s = 0;
  op_stats reads;
  op_stats writes;
  // Live versions the gets returned: a store that keeps piling up siblings
  // does more work per operation than the raw baseline.
  uint64_t read_siblings = 0;
  uint64_t max_siblings = 0;
  uint64_t preloaded = 0; // keys written before measuring
  double preload_s = 0;
  std::string first_error; // the first failure, described, if any

  uint64_t ops() const;    // successful operations
  uint64_t errors() const;
  double ops_per_s() const;
  double cpu_us_per_op() const;
  void merge(const run_result& other); // ops of several clients, same phase
  // Appends a later measured window of the same mode (compare --rounds):
  // merges its operations and adds its wall and CPU time.
  void add_window(const run_result& window);
};

// Throughput of `x` over `y` (0 when y measured nothing).
double throughput_ratio(const run_result& x, const run_result& y);

// Process CPU time per operation of `x` over `y`: less sensitive than
// throughput to how many cores other tenants leave free.
double cpu_per_op_ratio(const run_result& x, const run_result& y);

// Live versions a get returned on average (0 without gets).
double versions_per_read(const run_result& r);

// A table for people: one block per result, read/write/all rows, and for two
// results (compare) the ratio second/first.
std::string format_table(const bench_options& opts,
                         const std::vector<run_result>& results);

// One CSV line per run for scripts; the columns depend only on the options
// (the modes they run), so lines of runs with the same mode line up.
std::string format_csv_header(const bench_options& opts);
std::string format_csv_line(const bench_options& opts,
                            const std::vector<run_result>& results);

// The modes a run executes, in order (compare: raw, embedded).
std::vector<std::string> result_modes(const bench_options& opts);

} // namespace kv
