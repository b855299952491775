#pragma once

#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "bench/bench_options.hpp"
#include "bench/report.hpp"
#include "messages/interfaces.hpp"

namespace kv {

// Drives a coordinator from `opts.clients` event-based client actors, each
// keeping `opts.depth` requests in flight with request(...).then(...).
// Latency is taken from request to reply on the client actor
// (steady_clock), so it includes the client's own mailbox and scheduling,
// as a real CAF client would see them.
//
// Windows: measure() may be called several times (compare --rounds); the
// clients' operation streams and causal contexts carry over, so N windows
// of d seconds issue the same operations as one window of N x d.
class actor_bench {
public:
  // `mode` labels the results ("embedded", "remote").
  actor_bench(caf::actor_system& sys, client_actor coordinator,
              const bench_options& opts, std::string mode);
  ~actor_bench();

  // Puts every key once, `depth` in flight per client, each client its own
  // slice of the key space; the result's elapsed_s is the preload time.
  run_result preload();

  // One measured window: `seconds` long, or `ops` operations when ops > 0.
  run_result measure(double seconds, uint64_t ops);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Applies --scheduler-threads/--scheduler-policy to a config.
void apply_scheduler_options(caf::actor_system_config& cfg,
                             const bench_options& opts);

} // namespace kv
