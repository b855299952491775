#pragma once

#include <cstdint>

namespace kv {

// Error codes of the store. They travel inside caf::error with the category
// atom "kv" (see messages/caf_types.hpp) and a message giving the details.
enum class kv_errc : uint8_t {
  // 0 is reserved by CAF for "no error".
  invalid_argument = 1,  // malformed request: empty key, bad N/R/W, bad context
  key_too_large,         // key over max_key_bytes
  value_too_large,       // value over the node's max value size
  too_many_siblings,     // the key already holds the maximum of siblings
  write_quorum_failed,   // fewer than W replicas acknowledged in time
  read_quorum_failed,    // fewer than R replicas answered in time
  unavailable,           // no replica reachable for the key
  storage_failure,       // the storage engine failed (disk full, I/O error)
  corrupt_record,        // a stored record failed its checksum or decoding
  duplicate_node,        // another live node already has this node id
  record_changed,        // a conditional merge found the record changed
  other_cluster,         // the peer belongs to another cluster
  unnamed_cluster,       // the peer holds a ring of a cluster without a name
  not_authenticated,     // no valid credentials (certificate, identity proof)
  not_authorized,        // valid credentials, but not for this command
};

const char* to_string(kv_errc x);

} // namespace kv
