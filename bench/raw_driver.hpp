#pragma once

#include <memory>
#include <string>

#include "bench/bench_options.hpp"
#include "bench/report.hpp"

namespace kv {

// The baseline: WiredTiger in this process, opened with a node's engine
// settings (snappy, log on, the same durability and cache), one thread and
// session per client. What one operation costs:
//   default    put = read the key's record + decode it (if present) +
//                    encode_key_record of one new version + write;
//              get = read the record + decode it.
//              That is the disk and codec work a replica store must do for
//              a single-node put/get, without actors, messages, version
//              logic (make_version/reconcile) or the coordinator.
//   raw-plain  put = write the value bytes; get = read the value bytes.
// Clients are synchronous threads (--raw-clients, default --clients), so
// --depth does not apply.
//
// Windows: measure() may be called several times (compare --rounds); each
// thread's operation stream carries over.
class raw_bench {
public:
  // Opens the engine in `data_dir` and a session per thread. Throws
  // storage_error if it cannot.
  raw_bench(const bench_options& opts, const std::string& data_dir);
  ~raw_bench();

  // Puts every key once, each thread its own slice; elapsed_s is the
  // preload time.
  run_result preload();

  // One measured window: `seconds` long, or `ops` operations when ops > 0.
  run_result measure(double seconds, uint64_t ops);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace kv
