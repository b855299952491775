#pragma once

// What operators watch of a node's storage engine as a whole (WiredTiger's
// connection statistics): filled by persistence/, carried by store_stats.

#include <cstdint>

namespace kv {

struct engine_stats {
  uint64_t cache_bytes = 0;       // in the cache now
  uint64_t cache_max_bytes = 0;   // the configured cache size
  uint64_t cache_dirty_bytes = 0; // modified, not yet written
  uint64_t pages_read = 0;        // into the cache since the start
  uint64_t pages_written = 0;     // from the cache since the start
  uint64_t bytes_read = 0;        // by the block manager, likewise
  uint64_t bytes_written = 0;
  uint64_t checkpoints = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, engine_stats& x) {
  return f(x.cache_bytes, x.cache_max_bytes, x.cache_dirty_bytes,
           x.pages_read, x.pages_written, x.bytes_read, x.bytes_written,
           x.checkpoints);
}

} // namespace kv
