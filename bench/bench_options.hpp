#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/key_generator.hpp"

namespace kv {

enum class bench_mode { raw, embedded, remote, compare };

const char* to_string(bench_mode x);

// Every setting of one kvbench run. Plain data: parsed and validated without
// CAF so the rules are unit-tested.
struct bench_options {
  bench_mode mode = bench_mode::compare;

  // Workload (identical for every mode of a run).
  uint32_t clients = 4;       // client actors (raw: threads)
  // Raw threads when they should differ from --clients (0: the same). On a
  // small machine WiredTiger's log commit path slows down with more
  // concurrent writers, so the best raw figure may need fewer threads.
  uint32_t raw_clients = 0;
  uint32_t depth = 16;        // requests in flight per client actor
  // Offered load (requests/s over all clients, spread evenly; 0: each
  // client sends as fast as its depth lets it). Actor modes only.
  double rate = 0;
  uint64_t keys = 100000;     // key space
  uint32_t value_size = 100;  // bytes per value
  double read_ratio = 0.5;    // share of gets, 0..1
  key_distribution dist = key_distribution::uniform;
  double duration_s = 10;     // measure this long...
  // compare: split the measured time into this many alternating windows
  // (raw, embedded, raw, ...) so background load hits both sides alike.
  uint32_t rounds = 5;
  uint64_t ops = 0;           // ...or this many operations (when > 0)
  bool warmup_keys = true;    // preload every key so reads hit
  uint64_t seed = 42;

  // Passed in every request_options; 0 = the node's default. An embedded
  // node is a one-node cluster whose defaults are N = R = W = 1.
  uint32_t n = 0;
  uint32_t r = 0;
  uint32_t w = 0;
  uint32_t timeout_ms = 5000;
  // Put with the causal context this client last saw for the key (from the
  // preload, its own gets and puts). false: blind puts, which the store
  // keeps side by side as siblings (dotted versions).
  bool use_context = true;
  // Client requests carry a timeout (timeout-ms + 1 s). false: caf::infinite,
  // which keeps the client's requests off CAF's actor clock; only for
  // attributing the clock's cost in a local (embedded) run.
  bool client_timeouts = true;

  // Remote target.
  std::string host = "127.0.0.1";
  uint16_t port = 4000;

  // Storage (raw and embedded use the same engine settings).
  std::string data_dir = "/tmp/kvbench";
  bool keep = false;          // keep the data directories afterwards
  uint64_t cache_mb = 256;
  std::string durability = "write";
  bool raw_plain = false;     // raw: plain byte put/get, no record codec
  uint32_t store_shards = 2;  // embedded node's replica store actors

  // CAF scheduler of the embedded/remote client system (0/"": what kvnode
  // runs with, apply_node_runtime_defaults).
  uint32_t scheduler_threads = 0;
  std::string scheduler_policy;

  // Output.
  bool csv = false;
  bool csv_header = false;    // print the CSV header and exit
  bool help = false;
};

// Threads of the raw baseline.
inline uint32_t raw_threads(const bench_options& o) {
  return o.raw_clients > 0 ? o.raw_clients : o.clients;
}

struct parse_outcome {
  bench_options opts;
  std::optional<std::string> error; // one line, for stderr; exit status 2
};

// Parses "--name=value" and bare flags ("--csv", "--keep", "--raw-plain",
// "--help"; flags also take =true/false) and validates the result.
parse_outcome parse_bench_options(const std::vector<std::string>& args);

// Why a set of options cannot run, if it cannot.
std::optional<std::string> bench_options_problem(const bench_options& opts);

std::string bench_usage();

} // namespace kv
