#pragma once

#include <cstddef>
#include <cstdint>

namespace kv {

// The seed design targets small pairs: keys are bounded hard, values by a
// per-node setting whose default is below.
constexpr std::size_t max_key_bytes = 10 * 1024;
constexpr std::size_t default_max_value_bytes = 1024 * 1024;

// Dynamo truncates a clock at about ten entries; the oldest go first.
constexpr std::size_t default_max_clock_entries = 10;

// Riak warns at 25 siblings and refuses at 100: past that a key is broken.
constexpr std::size_t sibling_warning_threshold = 25;
constexpr std::size_t default_max_siblings = 100;

// The longest a request may ask the coordinator to wait: a coordinator
// keeps the request's state that long.
constexpr uint32_t max_request_timeout_ms = 10 * 60 * 1000;

// Versions one message may carry for a key (replication, repair, hints).
constexpr std::size_t max_wire_siblings = 1024;

// Replica store actors per node (each a thread with its own session).
constexpr std::size_t max_store_shards = 64;

// Cards (or suspicions) one gossip message may carry: far above any cluster
// we run, low enough that a hostile peer cannot make a node hold much.
constexpr std::size_t max_gossip_cards = 4096;

} // namespace kv
