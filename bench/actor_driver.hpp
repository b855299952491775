#pragma once

#include <string>

#include <caf/actor_system.hpp>

#include "bench/bench_options.hpp"
#include "bench/report.hpp"
#include "messages/interfaces.hpp"

namespace kv {

// Drives `coordinator` from `opts.clients` event-based client actors in `sys`,
// each keeping `opts.depth` requests in flight: first (with warmup_keys) a
// preload that puts every key once, then the measured mix. Latency is taken
// from request to reply on the client actor (steady_clock), so it includes
// the client's own mailbox and scheduling, as a real CAF client would see.
// `mode` labels the result ("embedded", "remote").
run_result run_actor_clients(caf::actor_system& sys,
                             const coordinator_actor& coordinator,
                             const bench_options& opts,
                             const std::string& mode);

// Applies --scheduler-threads/--scheduler-policy to a config.
void apply_scheduler_options(caf::actor_system_config& cfg,
                             const bench_options& opts);

} // namespace kv
