#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/antientropy/merkle_tree.hpp"

#include "messages/interfaces.hpp"
#include "persistence/wt_engine.hpp"

namespace kv {

// The table of a store's records: `prefix` + "_by_position", keyed by
// stored_key (the key's ring position first), so one partition is one range
// scan. The auxiliary tables (quarantine, lost, meta) keep `prefix` + suffix
// and plain keys.
std::string records_table(const std::string& prefix);

// Converts records written before partitions (table `prefix`, plain keys)
// into records_table(prefix) and drops the old table; nothing to do if it is
// gone. Safe to repeat after a crash: the old table is dropped only after
// every record was copied. Returns the number of records converted. Throws
// storage_error.
uint64_t upgrade_key_layout(wt_engine& engine, const std::string& prefix);

// The table of the keys whose records hold tombstones only (see the
// store's tombstone index): `prefix` + "_tombstones".
std::string tombstones_table(const std::string& prefix);

// Builds the tombstone index of a data directory written before it existed
// (a scan of every record, once: a mark in the meta table says it is
// done; a new directory only gets the mark). Run before the stores open.
// Returns the number of tombstone records indexed. Throws storage_error.
uint64_t index_tombstones(wt_engine& engine, const std::string& prefix);

struct replica_store_settings {
  // Names the dots of the writes this replica coordinates: the node id and
  // its incarnation ("n1/8817..."), so a wiped directory or a second
  // process under the same id never issues a dot that was issued before.
  std::string node_id;
  std::string table = "kv";
  std::size_t max_value_bytes = 0;
  std::size_t max_siblings = 0;
  std::size_t max_clock_entries = 0;
  // Which of the node's stores this is: its anti-entropy trees cover only
  // the keys it serves (see store_shard_of).
  uint32_t shard = 0;
  uint32_t shard_count = 1;
  merkle_forest::settings trees;
  // A tree build reads this many records per step and pauses between
  // steps, so requests keep being served while it runs.
  uint32_t build_step_records = 2048;
  std::chrono::milliseconds build_pause{2};
};

// Spawns a replica store: an actor with its own WiredTiger session and
// cursor on the node's key table. It runs detached (its own thread) because
// every message does blocking disk I/O. Several stores may share one engine
// as long as a key is always sent to the same store, which makes each of its
// read-modify-writes atomic. The engine stays open while any store lives.
// Throws storage_error if the session or table cannot be opened.
replica_store_actor spawn_replica_store(caf::actor_system& sys,
                                        std::shared_ptr<wt_engine> engine,
                                        replica_store_settings settings);

} // namespace kv
