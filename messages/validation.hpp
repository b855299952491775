#pragma once

// Checks for what arrives from other nodes and clients, before a node acts
// on it or stores it. Each returns a one-line reason, or nothing if the value
// is acceptable. Plain C++: the CAF inspectors (messages/caf_types.hpp) call
// the ones whose bounds are fixed, actors call the rest with their settings.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "messages/membership.hpp"
#include "messages/partition_chunk.hpp"
#include "messages/vector_clock.hpp"
#include "messages/versioned_value.hpp"

namespace kv {

// Most entries a clock from the wire may have. Clocks are pruned to a few
// dozen entries; this only bounds what a broken or hostile peer can make a
// node hold and compare.
constexpr std::size_t max_wire_clock_entries = 1024;

// Bounds on a gossiped member (a node has 1024 virtual nodes today).
constexpr std::size_t max_member_tokens = 4096;
constexpr std::size_t max_dc_bytes = 64;
constexpr std::size_t max_host_bytes = 255; // a DNS name
constexpr uint64_t max_heartbeat = uint64_t{1} << 62;

// A dot names one write: a valid replica id and a counter in
// 1..max_clock_counter-1.
std::optional<std::string> dot_problem(const dot& d);

// The invariants vector_clock keeps and a deserialised clock may lack:
// entries sorted by node without duplicates, valid replica ids, counters in
// 1..max_clock_counter-1, and at most `max_entries` entries.
std::optional<std::string> clock_problem(const vector_clock& clock,
                                         std::size_t max_entries);

// A sibling list as replicas exchange it: at most `max_siblings` versions,
// no two with the same origin; each with a valid origin dot and context
// (at most `max_clock_entries`), a value of at most `max_value_bytes`, and
// no value on a tombstone.
std::optional<std::string> versions_problem(const sibling_list& versions,
                                            std::size_t max_value_bytes,
                                            std::size_t max_siblings,
                                            std::size_t max_clock_entries);

// A gossiped member: valid node id, data centre non-empty and bounded, host
// bounded, port set, a known status, at most max_member_tokens tokens and a
// heartbeat below max_heartbeat.
std::optional<std::string> member_problem(const member_info& member);

// A hint: a valid owner node id, a key that key_problem accepts and versions
// that versions_problem accepts.
std::optional<std::string> hint_problem(const hint& h,
                                        std::size_t max_value_bytes,
                                        std::size_t max_siblings,
                                        std::size_t max_clock_entries);

// A handoff chunk: as many version lists as keys, at most max_chunk_keys,
// every key and version list valid as for a hint.
std::optional<std::string> chunk_problem(const partition_chunk& chunk,
                                         std::size_t max_value_bytes);

} // namespace kv
