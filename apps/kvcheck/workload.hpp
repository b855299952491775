#pragma once

// The client side of a fault-injection run: worker threads that drive the
// store through the real client library (apps/client/kv_client.hpp) and log
// every request (apps/kvcheck/history.hpp), and the final read-back of the
// check mode.

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "apps/kvcheck/analysis.hpp"
#include "messages/request.hpp"

namespace kv::check {

struct node_address {
  std::string id;
  std::string host;
  uint16_t port = 0;
};

// Parses "n1=10.77.0.11:4000,n2=..."; empty with `error` set when malformed.
std::vector<node_address> parse_nodes(const std::string& text,
                                      std::string& error);

struct workload_options {
  std::vector<node_address> nodes;
  uint32_t unique_workers = 4; // each writes its own keys, deletes some
  uint32_t set_workers = 3;    // all share the hot set keys
  uint32_t hot_keys = 3;
  uint32_t delete_percent = 20; // of acknowledged unique puts
  uint32_t duration_s = 60;
  uint64_t seed = 1;
  std::string prefix = "r"; // key prefix of this run
  request_options request;  // N/R/W and timeout sent with every request
  uint32_t connect_ms = 3000;
  // Each worker rests this long after every step: the history stays small
  // enough for the final check to read back every key within a minute.
  uint32_t pause_ms = 20;
  // Redis gateways to drive instead of the nodes' CAF ports (by node id,
  // as in `nodes`), with the password AUTH takes; empty: CAF.
  std::vector<node_address> resp_nodes;
  std::string resp_password;
  // When this file exists the workers stop before their next step (each
  // finishes and logs the request it has out): a test ends the workload at
  // a moment it chooses without cutting a request short. Empty: none.
  std::string stop_file;
};

// Runs the workers for the duration; each record goes to `log` as soon as
// its request ends (flushed, so a killed run keeps its history).
void run_workload(caf::actor_system& sys, const workload_options& opts,
                  std::ostream& log);

struct final_options {
  std::vector<node_address> nodes;
  request_options request;
  uint32_t converge_timeout_s = 60;
  // After convergence: how long every node gets to reap the tombstones of
  // deleted keys (0: not checked).
  uint32_t reap_timeout_s = 0;
  uint32_t connect_ms = 3000;
};

// Reads the final state of `keys`: first waits (bounded) for the owners'
// own copies to agree, without reads that would repair them, then reads
// every key through a quorum. Fills `states` and returns the convergence.
convergence read_final_state(caf::actor_system& sys, const final_options& opts,
                             const std::vector<std::string>& keys,
                             std::map<std::string, key_state>& states);

} // namespace kv::check
