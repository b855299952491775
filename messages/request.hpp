#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "messages/vector_clock.hpp"
#include "messages/versioned_value.hpp"

namespace kv {

// Named levels for r and w, resolved against the request's n: a majority
// of n (n / 2 + 1), or all n. "one" is simply 1.
constexpr uint32_t level_quorum = 0xFFFFFFFEu;
constexpr uint32_t level_all = 0xFFFFFFFFu;

// Per-request consistency. Zero means "the cluster default".
struct request_options {
  uint32_t n = 0;          // replicas
  uint32_t r = 0;          // replies needed for a read
  uint32_t w = 0;          // acknowledgements needed for a write
  uint32_t timeout_ms = 0; // how long the coordinator waits for R or W
  bool strict_quorum = false; // only the key's true owners count (no hints)
  // A put or delete supersedes every version the coordinating replica
  // holds, besides those its context covers: Redis's SET and DEL, which
  // overwrite.
  bool overwrite = false;
};

// Cluster defaults that fill the zeros of request_options.
struct consistency_defaults {
  uint32_t n = 3;
  uint32_t r = 2;
  uint32_t w = 2;
  uint32_t timeout_ms = 5000;
};

// Why a key cannot be stored (empty, or over max_key_bytes), if it cannot.
std::optional<std::string> key_problem(std::string_view key);

// Why a value cannot be stored under a node's limit, if it cannot.
std::optional<std::string> value_problem(std::string_view value,
                                         std::size_t max_value_bytes);

// Why a client's causal context is unusable (a counter at or above
// max_clock_counter, a bad node id), if it is.
std::optional<std::string> context_problem(const vector_clock& context);

// Why resolved options are unusable (R or W outside 1..N, N above the
// cluster size), if they are.
std::optional<std::string> options_problem(const request_options& resolved,
                                           std::size_t cluster_size);

// A consistency value for people and the Redis gateway: "default" (0),
// "quorum", "all", or the number.
std::string consistency_level_name(uint32_t value);

// Fills zeros from `defaults`, then turns level_quorum and level_all into
// numbers for the resolved n.
request_options resolve(request_options opts,
                        const consistency_defaults& defaults);

// What a write returns. `context` covers exactly the versions in `siblings`
// (the coordinating replica's live versions after the write, the new one
// included), so a client that passes it on has seen everything it
// supersedes: with one sibling it chains the client's own writes; with more,
// a concurrent write is there and the client resolves it as after a get.
struct put_result {
  vector_clock context;
  uint32_t acks = 0;     // replicas that acknowledged before the reply
  sibling_list siblings; // what `context` covers, tombstones left out
};

struct get_result {
  sibling_list siblings; // live concurrent values (empty: missing or deleted)
  vector_clock context;  // pass to a put to supersede every sibling read
  uint32_t replies = 0;  // replicas that answered before the reply
};

} // namespace kv
