#pragma once

#include <string>

#include "bench/bench_options.hpp"
#include "bench/report.hpp"

namespace kv {

// The baseline: WiredTiger in this process, opened with a node's engine
// settings, one thread and session per client. What one operation costs:
//   default    put = read the key's record + decode it (if present) +
//                    encode_siblings of one new version + write;
//              get = read the record + decode it.
//              That is the disk and codec work a replica store must do for a
//              single-node put/get, without actors, messages, version logic
//              (make_version/reconcile) or the coordinator.
//   raw-plain  put = write the value bytes; get = read the value bytes.
// Clients are synchronous threads, so --depth does not apply.
// Throws storage_error if the engine cannot open `data_dir`.
run_result run_raw(const bench_options& opts, const std::string& data_dir);

} // namespace kv
