#include "actors/storage/replica_store.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <chrono>
#include <optional>

#include <caf/all.hpp>

#include "actors/antientropy/merkle_tree.hpp"
#include "actors/antientropy/reaping.hpp"
#include "actors/key_hash.hpp"
#include "actors/log.hpp"
#include "actors/storage/storage_guard.hpp"
#include "messages/caf_types.hpp"
#include "messages/limits.hpp"
#include "messages/vector_clock.hpp"
#include "messages/validation.hpp"
#include "persistence/record_codec.hpp"
#include "persistence/storage_error.hpp"

namespace kv {

namespace {

constexpr const char* actor_name = "replica store";
const std::string unreadable_record
  = "the stored record of this key is unreadable (or was, and has not been "
    "repaired yet): this replica does not count for the key until a "
    "replica's copy repairs it";

// Where the store keeps the last counter floor it handed out, and (one key
// per store, "reap_floor/<shard>") the floor of keys without a record.
const std::string last_floor_key = "counter_floor";
const std::string absent_floor_prefix = "reap_floor/";

// Index entries a page of reaping candidates visits at most: tombstones
// still in their grace period or of another store are skipped, not counted
// as candidates, and must not make one request walk a whole partition.
constexpr std::size_t max_index_visits = 8 * max_keys_per_reap;

// The dot-counter floor for a key whose record was lost, given the last
// floor handed out: the lost record held the highest counter issued, and
// one of those dots may still live in a client's context or on another
// replica. Far above any counter a key reaches by counting writes (the wall
// clock in ms, shifted 16 bits), and above every earlier floor by 2^32 even
// if the clock went back; capped well below max_clock_counter.
uint64_t next_counter_floor(uint64_t last) {
  auto floor = std::max(wall_clock_ms() << 16, last + (uint64_t{1} << 32));
  return std::min(floor, max_clock_counter >> 2);
}

// A number stored as decimal text, if that is all the bytes hold.
std::optional<uint64_t> parse_number(const std::string& text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(),
                                   value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    return std::nullopt;
  return value;
}

// A stored record as the store sees it. `lost`: the record was unreadable
// and set aside, and no replica's copy has repaired it yet; `record.issued`
// then holds the counter floor.
struct loaded_record {
  key_record record;
  bool lost = false;
};

struct replica_store_state {
  // Handed over at spawn; this actor is its only user.
  std::shared_ptr<owned_table> disk;
  // Unreadable records, by key, as they were found (for the operator); the
  // keys whose record was lost, with what has been merged into them since
  // (a record whose `issued` starts at the counter floor) until a restore;
  // and the store's own settings (the last counter floor). Declared after
  // `disk`: their cursors close before its session.
  std::optional<wt_table> quarantine;
  std::optional<wt_table> lost;
  std::optional<wt_table> meta;
  // Every key whose record holds tombstones only, by stored key, with the
  // newest tombstone's timestamp (decimal): what reaping scans instead of
  // the records. Written before such a record and erased after the record
  // stops being one, so a crash leaves at most a stale entry, which a scan
  // drops. Shared by the node's stores; each writes its own keys' entries.
  std::optional<wt_table> tombstones;
  // The dot-counter floor of keys without a record: 0 until this store
  // first reaps, then at least every counter a reaped record had issued
  // (by induction, every counter ever issued for a key now absent).
  uint64_t absent_floor = 0;
  uint64_t tombstone_count = 0; // this store's keys with tombstones only
  replica_store_settings settings;
  std::optional<merkle_forest> trees;
  bool build_scheduled = false;
  store_stats stats;
  std::string buffer; // reused for reads

  static inline const char* name = "replica_store";

  // The stored record of `key`; empty if absent. A record that cannot be
  // decoded is set aside (see set_aside) and corrupt_record_error is
  // rethrown; one in a newer format is left alone (unknown_format_error).
  // Throws storage_error.
  loaded_record load(const std::string& key) {
    if (disk->table.get(stored_key(key), buffer)) {
      try {
        return {decode_key_record(buffer), false};
      } catch (const unknown_format_error&) {
        throw;
      } catch (const corrupt_record_error& e) {
        set_aside(key, e.what());
        throw;
      }
    }
    if (lost->get(key, buffer)) {
      try {
        return {decode_key_record(buffer), true};
      } catch (const corrupt_record_error& e) {
        log_line(log_level::warning,
                 std::string{"a lost-record mark was unreadable too ("}
                   + e.what() + "); starting it again from a new floor");
        return {key_record{{}, take_counter_floor()}, true};
      }
    }
    return {key_record{{}, absent_floor}, false};
  }

  // Raises the floor of absent keys to `at_least`, remembered first: the
  // next dot of a reaped key is above every dot issued for it before, which
  // clients' contexts may still hold.
  void raise_absent_floor(uint64_t at_least) {
    if (at_least <= absent_floor)
      return;
    meta->put(absent_floor_prefix + std::to_string(settings.shard),
              std::to_string(at_least));
    absent_floor = at_least;
  }

  // The highest floor any store of the node saved (a key may have moved to
  // this store if the number of stores changed), and this store's count of
  // tombstone-only keys, from the index.
  void load_reaping_state() {
    std::string legacy; // one key for every store, before per-store keys
    if (meta->get("reap_floor", legacy))
      absent_floor = parse_number(legacy).value_or(max_clock_counter >> 2);
    meta->scan(absent_floor_prefix, [&](std::string_view k,
                                        std::string_view v) {
      if (k.substr(0, absent_floor_prefix.size()) != absent_floor_prefix)
        return false;
      absent_floor = std::max(absent_floor,
                              parse_number(std::string{v})
                                .value_or(max_clock_counter >> 2));
      return true;
    });
    tombstones->scan({}, [&](std::string_view stored, std::string_view) {
      tombstone_count += mine(std::string{key_in(stored)});
      return true;
    });
  }

  // A counter floor above every one handed out before, remembered first.
  uint64_t take_counter_floor() {
    std::string text;
    uint64_t last = 0;
    if (meta->get(last_floor_key, text))
      last = parse_number(text).value_or(max_clock_counter >> 2);
    auto floor = next_counter_floor(last);
    meta->put(last_floor_key, std::to_string(floor));
    return floor;
  }

  // Keeps what was merged into a lost key: still lost.
  void store_lost(const std::string& key, const key_record& record) {
    lost->put(key, encode_key_record(record));
  }

  // Moves the unreadable record in `buffer` to the quarantine table and
  // marks the key lost, with a counter floor, so the next dot issued for
  // the key cannot repeat one the lost record had issued.
  void set_aside(const std::string& key, const std::string& why) {
    ++stats.corrupt_records;
    quarantine->put(key, buffer);
    store_lost(key, key_record{{}, take_counter_floor()});
    auto stored = stored_key(key);
    disk->table.erase(stored);
    // Its digest is unknown: the tree holding it is built again.
    trees->invalidate(*position_in(stored));
    log_line(log_level::warning,
             "a record of " + std::to_string(buffer.size()) + " bytes (key of "
               + std::to_string(key.size()) + " bytes) was unreadable (" + why
               + "); set aside in table " + settings.table
               + "_quarantine; the key does not count here until a replica's "
                 "copy repairs it");
  }

  // Removes the record of `key`, which holds `before`.
  void drop(const std::string& key, const sibling_list& before) {
    auto stored = stored_key(key);
    disk->table.erase(stored);
    tombstones->erase(stored);
    if (only_tombstones(before) && tombstone_count > 0)
      --tombstone_count;
    trees->on_write(stored, *position_in(stored), key_digest(key, before), 0);
  }

  // Why `batch` (keys with the versions to drop them for) is not one this
  // store can act on, or nothing. `what` names the request in the reason;
  // versions from elsewhere are checked against the limits too.
  std::optional<std::string> batch_problem(const partition_chunk& batch,
                                           const std::string& what,
                                           bool check_versions) const {
    if (batch.keys.size() > max_keys_per_reap
        || batch.keys.size() != batch.versions.size())
      return what + ": keys and versions do not pair up within the bound";
    for (std::size_t i = 0; i < batch.keys.size(); ++i) {
      if (auto problem = key_problem(batch.keys[i]))
        return problem;
      if (!mine(batch.keys[i]))
        return what + ": a key another store of this node serves";
      if (!check_versions)
        continue;
      if (auto problem = versions_problem(batch.versions[i],
                                          settings.max_value_bytes,
                                          max_wire_siblings,
                                          max_wire_clock_entries))
        return problem;
    }
    return std::nullopt;
  }

  // Drops the record of each key in `batch` that holds nothing the batch's
  // versions do not supersede (merged with them, the record is exactly
  // those versions); a record with anything newer or concurrent is kept,
  // merged with them, and a lost one is only merged. Before the first
  // record goes, the floor of absent keys' dot counters is raised above
  // every dropped record's, so a dropped key's next dots never repeat one
  // issued before. Returns the records dropped.
  uint32_t drop_superseded(const partition_chunk& batch) {
    // Decided first, so the floor is raised above every dropped
    // record's counter before the first one goes.
    std::vector<std::pair<std::size_t, loaded_record>> to_drop;
    uint64_t highest_issued = 0;
    for (std::size_t i = 0; i < batch.keys.size(); ++i) {
      auto& key = batch.keys[i];
      auto& reaped = batch.versions[i];
      loaded_record loaded;
      try {
        loaded = load(key);
      } catch (const corrupt_record_error&) {
        loaded = load(key); // now marked lost
      }
      auto& stored = loaded.record;
      if (loaded.lost) {
        auto merged = reconcile(stored.siblings, reaped);
        if (merged != stored.siblings)
          store_lost(key, key_record{std::move(merged), stored.issued});
      } else if (stored.siblings.empty()) {
        continue;
      } else if (superseded_by(stored.siblings, reaped)) {
        highest_issued = std::max(highest_issued, stored.issued);
        to_drop.emplace_back(i, std::move(loaded));
      } else {
        // Something the batch did not see: kept, merged with it.
        auto merged = reconcile(stored.siblings, reaped);
        if (merged != stored.siblings)
          store(key, stored.siblings,
                key_record{std::move(merged), stored.issued});
      }
    }
    if (to_drop.empty())
      return 0;
    raise_absent_floor(highest_issued);
    for (auto& [i, loaded] : to_drop)
      drop(batch.keys[i], loaded.record.siblings);
    return static_cast<uint32_t>(to_drop.size());
  }

  bool mine(const std::string& key) const {
    return store_shard_of(key, settings.shard_count) == settings.shard;
  }

  // Refused while the key's record is lost: this replica's answer would
  // look like an empty, readable one and count toward a quorum.
  static caf::error lost_record() {
    return make_kv_error(kv_errc::corrupt_record, unreadable_record);
  }

  // Visits the records whose ring positions run from `first` (or from
  // after the stored key `resume_after`) to `last`, in position order,
  // until `visit(stored key, position, value)` returns false.
  template <class Visit>
  void scan_positions(uint64_t first, uint64_t last,
                      const std::string& resume_after, Visit visit) {
    scan_positions(disk->table, first, last, resume_after, visit);
  }

  // The same over `table`, a table keyed by stored key.
  template <class Visit>
  static void scan_positions(wt_table& table, uint64_t first, uint64_t last,
                             const std::string& resume_after, Visit visit) {
    auto from = resume_after.empty() ? position_bytes(first) : resume_after;
    table.scan(from, [&](std::string_view stored,
                               std::string_view value) {
      if (!resume_after.empty() && stored == resume_after)
        return true;
      auto position = position_in(stored);
      if (!position || *position > last)
        return false;
      return visit(stored, *position, value);
    });
  }

  // Writes `record` over `before` (the siblings the table held; empty for
  // none) and keeps the anti-entropy trees current.
  void store(const std::string& key, const sibling_list& before,
             const key_record& record) {
    auto stored = stored_key(key);
    bool deleted = only_tombstones(record.siblings);
    bool was_deleted = only_tombstones(before);
    // The index holds when this store last wrote the tombstones, on its own
    // clock: the grace period does not depend on the coordinator's.
    if (deleted)
      tombstones->put(stored, std::to_string(wall_clock_ms()));
    disk->table.put(stored, encode_key_record(record));
    if (!deleted && was_deleted)
      tombstones->erase(stored);
    if (deleted && !was_deleted)
      ++tombstone_count;
    else if (!deleted && was_deleted && tombstone_count > 0)
      --tombstone_count;
    trees->on_write(stored, *position_in(stored), key_digest(key, before),
                    key_digest(key, record.siblings));
    ++stats.keys_written;
    auto& versions = record.siblings;
    if (versions.size() > sibling_warning_threshold) {
      ++stats.sibling_warnings;
      log_line(log_level::warning,
               "key of " + std::to_string(key.size()) + " bytes holds "
                 + std::to_string(versions.size())
                 + " siblings: clients should read and write back with the "
                   "context to collapse them");
    }
  }
};

using store_pointer = replica_store_actor::stateful_pointer<replica_store_state>;

void schedule_build(store_pointer self) {
  auto& st = self->state;
  if (st.build_scheduled || !st.trees->next_build())
    return;
  st.build_scheduled = true;
  self->delayed_send(self, st.settings.build_pause, tick_atom::value);
}

// One step of a pending tree build: up to build_step_records records from
// where the build stopped, of which this store's own keys go in the tree.
void build_step(store_pointer self) {
  auto& st = self->state;
  st.build_scheduled = false;
  auto step = st.trees->next_build();
  if (!step)
    return;
  std::vector<std::pair<uint64_t, uint64_t>> found;
  std::string last_read;
  uint32_t read = 0;
  bool done = true;
  st.scan_positions(step->first, step->last, step->resume_after,
                    [&](std::string_view stored, uint64_t position,
                        std::string_view value) {
    if (read >= st.settings.build_step_records) {
      done = false;
      return false;
    }
    ++read;
    last_read.assign(stored);
    auto key = key_in(stored);
    if (store_shard_of(key, st.settings.shard_count) != st.settings.shard)
      return true;
    try {
      found.emplace_back(position,
                         key_digest(key, decode_key_record(value).siblings));
    } catch (const corrupt_record_error&) {
      // Counted as absent: the first read sets it aside (and builds the
      // tree again); an exchange then restores it from the other replicas.
      ++st.stats.corrupt_records;
    }
    return true;
  });
  if (!last_read.empty())
    st.trees->built_up_to(step->first, step->last, last_read, found);
  if (done)
    st.trees->build_done(step->first, step->last, wall_clock_ms());
  schedule_build(self);
}

replica_store_actor::behavior_type
replica_store(store_pointer self, std::shared_ptr<owned_table> disk,
              replica_store_settings settings) {
  self->state.disk = std::move(disk);
  // On the actor's own session; the table was created at spawn.
  self->state.quarantine.emplace(
    self->state.disk->session.open_table(settings.table + "_quarantine"));
  self->state.lost.emplace(
    self->state.disk->session.open_table(settings.table + "_lost"));
  self->state.meta.emplace(
    self->state.disk->session.open_table(settings.table + "_meta"));
  self->state.tombstones.emplace(
    self->state.disk->session.open_table(tombstones_table(settings.table)));
  self->state.trees.emplace(settings.trees);
  self->state.settings = std::move(settings);
  self->state.load_reaping_state();
  auto coordinate = [=](const std::string& key, std::string value,
                        bool tombstone, bool supersede_held,
                        const vector_clock& context, uint64_t deadline_ms)
    -> caf::result<versioned_value, sibling_list> {
    auto& st = self->state;
    if (deadline_ms != 0 && wall_clock_ms() >= deadline_ms)
      return make_kv_error(kv_errc::unavailable,
                           "the write reached this replica "
                             + std::to_string(wall_clock_ms() - deadline_ms)
                             + " ms after its deadline; nothing was written");
    if (auto problem = key_problem(key))
      return make_kv_error(key.empty() ? kv_errc::invalid_argument
                                       : kv_errc::key_too_large,
                           *problem);
    if (auto problem = value_problem(value, st.settings.max_value_bytes))
      return make_kv_error(kv_errc::value_too_large, *problem);
    using reply = caf::result<versioned_value, sibling_list>;
    return guarded<reply>(actor_name, unreadable_record, [&]() -> reply {
      auto [stored, lost] = st.load(key);
      if (lost)
        return st.lost_record();
      // A delete without a context removes what this replica holds: the
      // caller wants the key gone, not a tombstone sibling beside it. An
      // overwrite (Redis's SET) removes that and what its context covers.
      // Versions this replica has not seen yet (on other replicas) survive.
      auto supersedes = context;
      if (supersede_held || (tombstone && context.empty()))
        supersedes.merge(context_of(stored.siblings));
      auto version = make_version(stored.siblings, stored.issued, supersedes,
                                  st.settings.node_id, wall_clock_ms(),
                                  tombstone, std::move(value),
                                  st.settings.max_clock_entries);
      auto merged = reconcile(stored.siblings, {version});
      if (merged.size() > st.settings.max_siblings)
        return make_kv_error(
          kv_errc::too_many_siblings,
          "the key already holds " + std::to_string(stored.siblings.size())
            + " concurrent versions (maximum "
            + std::to_string(st.settings.max_siblings)
            + "); read it and write back with its context to resolve them");
      st.store(key, stored.siblings, key_record{merged, version.origin.counter});
      return {std::move(version), std::move(merged)};
    });
  };
  // apply (restoring = false) and restore (true).
  auto merge = [=](const std::string& key, const sibling_list& incoming,
                   bool restoring,
                   std::optional<uint64_t> expected) -> caf::result<ok_atom> {
    auto& st = self->state;
    // Versions from elsewhere are checked before they touch the disk: a
    // counter near 2^64 would make every later dot of the key wrap to 0.
    if (auto problem = key_problem(key))
      return make_kv_error(kv_errc::invalid_argument, *problem);
    // The sibling bound here is the wire's, not the node's max_siblings:
    // after a partition a merged set may legitimately hold more, and
    // refusing it would leave read repair and hints undeliverable.
    if (auto problem = versions_problem(incoming, st.settings.max_value_bytes,
                                        max_wire_siblings,
                                        max_wire_clock_entries))
      return make_kv_error(kv_errc::invalid_argument, *problem);
    using reply = caf::result<ok_atom>;
    return guarded<reply>(actor_name, unreadable_record, [&]() -> reply {
      loaded_record loaded;
      try {
        loaded = st.load(key);
      } catch (const unknown_format_error&) {
        throw;
      } catch (const corrupt_record_error&) {
        // Set aside by load: the bytes hold nothing we could merge, and
        // a replica's copy is the best there is.
        loaded = st.load(key);
      }
      auto& stored = loaded.record;
      if (expected
          && (loaded.lost || key_digest(key, stored.siblings) != *expected))
        return make_kv_error(kv_errc::record_changed,
                             "the record changed since its digest was read");
      // A record that was lost may have issued dots that only the
      // incoming versions still show.
      stored.issued = std::max(stored.issued,
                               highest_counter(incoming, st.settings.node_id));
      auto merged = reconcile(stored.siblings, incoming);
      if (loaded.lost && restoring) {
        // The lost record left the trees when it was set aside.
        st.store(key, {}, key_record{std::move(merged), stored.issued});
        st.lost->erase(key);
        log_line(log_level::info, "a lost record (key of "
                                    + std::to_string(key.size())
                                    + " bytes) was restored from the other "
                                      "replicas");
      } else if (loaded.lost) {
        // One replica's versions need not be all the others hold: kept,
        // but the key still does not count here.
        st.store_lost(key, key_record{std::move(merged), stored.issued});
      } else if (merged != stored.siblings) {
        st.store(key, stored.siblings,
                 key_record{std::move(merged), stored.issued});
      }
      return ok_atom::value;
    });
  };
  return {
    [=](coordinate_atom, const std::string& key, std::string& value,
        bool tombstone, bool supersede_held, const vector_clock& context,
        uint64_t deadline_ms) {
      return coordinate(key, std::move(value), tombstone, supersede_held,
                        context, deadline_ms);
    },
    [=](apply_atom, const std::string& key, const sibling_list& incoming) {
      return merge(key, incoming, false, std::nullopt);
    },
    [=](apply_atom, const std::string& key, const sibling_list& incoming,
        uint64_t expected) { return merge(key, incoming, false, expected); },
    [=](restore_atom, const std::string& key, const sibling_list& incoming) {
      return merge(key, incoming, true, std::nullopt);
    },
    [=](read_atom, const std::string& key) -> caf::result<sibling_list> {
      auto& st = self->state;
      ++st.stats.reads;
      using reply = caf::result<sibling_list>;
      return guarded<reply>(actor_name, unreadable_record, [&]() -> reply {
        auto loaded = st.load(key);
        if (loaded.lost)
          return st.lost_record();
        return std::move(loaded.record.siblings);
      });
    },
    [=](scan_atom, uint64_t first, uint64_t last,
        const std::string& resume_after,
        uint32_t max_bytes) -> caf::result<partition_chunk> {
      auto& st = self->state;
      if (first > last
          || (!resume_after.empty() && !position_in(resume_after)))
        return make_kv_error(kv_errc::invalid_argument,
                             "scan: empty range or malformed resume point");
      max_bytes = std::clamp<uint32_t>(max_bytes, 1, max_chunk_bytes);
      using reply = caf::result<partition_chunk>;
      return guarded<reply>(actor_name, unreadable_record, [&]() -> reply {
        partition_chunk chunk;
        chunk.done = true;
        std::size_t bytes = 0;
        st.scan_positions(first, last, resume_after,
                          [&](std::string_view stored, uint64_t,
                              std::string_view value) {
          if (chunk.keys.size() >= max_chunk_keys || bytes >= max_bytes) {
            chunk.done = false;
            return false;
          }
          chunk.resume_after.assign(stored);
          try {
            auto record = decode_key_record(value);
            bytes += stored.size() + value.size();
            chunk.keys.emplace_back(key_in(stored));
            chunk.versions.push_back(std::move(record.siblings));
          } catch (const corrupt_record_error& e) {
            // Left in place: the next read of the key sets it aside and
            // marks it lost, and the other replicas repair it.
            ++st.stats.corrupt_records;
            log_line(log_level::warning,
                     std::string{"a scan skipped an unreadable record ("}
                       + e.what() + ")");
          }
          return true;
        });
        return chunk;
      });
    },
    [=](tree_atom, uint64_t first, uint64_t last, uint32_t level,
        const std::vector<uint32_t>& indices)
      -> caf::result<std::vector<uint64_t>> {
      auto& st = self->state;
      switch (st.trees->ask(first, last, wall_clock_ms())) {
        case merkle_forest::status::bad_range:
          return make_kv_error(kv_errc::invalid_argument,
                               "tree: the range is not a partition of this "
                               "node's ring");
        case merkle_forest::status::building:
          schedule_build(self);
          return make_kv_error(kv_errc::unavailable,
                               "the anti-entropy tree of this partition is "
                               "being built");
        case merkle_forest::status::ready:
          break;
      }
      if (indices.size() > merkle_segments)
        return make_kv_error(kv_errc::invalid_argument,
                             "tree: more nodes asked for than a level has");
      auto* tree = st.trees->ready_tree(first, last);
      std::vector<uint64_t> hashes;
      hashes.reserve(indices.size());
      for (auto index : indices) {
        auto hash = tree->node(level, index);
        if (!hash)
          return make_kv_error(kv_errc::invalid_argument,
                               "tree: no such node");
        hashes.push_back(*hash);
      }
      return hashes;
    },
    [=](tree_atom, const std::vector<uint64_t>& firsts, uint64_t span)
      -> caf::result<std::vector<uint64_t>, std::vector<uint32_t>> {
      auto& st = self->state;
      if (firsts.size() > max_roots_per_request)
        return make_kv_error(kv_errc::invalid_argument,
                             "tree: more partitions asked for than a ring has");
      std::vector<uint64_t> roots(firsts.size(), 0);
      std::vector<uint32_t> building;
      auto now = wall_clock_ms();
      for (std::size_t i = 0; i < firsts.size(); ++i) {
        auto first = firsts[i];
        if (first > std::numeric_limits<uint64_t>::max() - span)
          return make_kv_error(kv_errc::invalid_argument,
                               "tree: a range past the end of the ring");
        auto last = first + span;
        // A partition this node does not hold (the asker's ring may be
        // newer or older) has no root here: reported like one being built.
        auto status = st.trees->ask(first, last, now);
        if (status != merkle_forest::status::ready)
          building.push_back(static_cast<uint32_t>(i));
        else
          roots[i] = *st.trees->ready_tree(first, last)->node(0, 0);
      }
      if (!building.empty())
        schedule_build(self);
      return caf::make_result(std::move(roots), std::move(building));
    },
    [=](digest_atom, uint64_t first, uint64_t last,
        const std::string& resume_after) -> caf::result<key_digests> {
      auto& st = self->state;
      if (first > last
          || (!resume_after.empty() && !position_in(resume_after)))
        return make_kv_error(kv_errc::invalid_argument,
                             "digest: empty range or malformed resume point");
      using reply = caf::result<key_digests>;
      return guarded<reply>(actor_name, unreadable_record, [&]() -> reply {
        key_digests out;
        out.done = true;
        std::size_t bytes = 0;
        st.scan_positions(first, last, resume_after,
                          [&](std::string_view stored, uint64_t,
                              std::string_view value) {
          if (out.keys.size() >= max_digests_per_reply
              || bytes >= max_chunk_bytes / 16) {
            out.done = false;
            return false;
          }
          out.resume_after.assign(stored);
          try {
            auto key = key_in(stored);
            auto digest = key_digest(key, decode_key_record(value).siblings);
            bytes += key.size() + sizeof(uint64_t);
            out.keys.emplace_back(key);
            out.digests.push_back(digest);
          } catch (const corrupt_record_error&) {
            // Left out: the key looks absent here, so the exchange reads
            // it, which sets the record aside, and restores it from the
            // other replicas.
            ++st.stats.corrupt_records;
          }
          return true;
        });
        return out;
      });
    },
    [=](digest_atom, const std::vector<std::string>& keys)
      -> caf::result<std::vector<uint64_t>, std::vector<uint32_t>> {
      auto& st = self->state;
      if (keys.size() > max_keys_per_reap)
        return make_kv_error(kv_errc::invalid_argument,
                             "digest: more keys than a reaping batch holds");
      for (auto& key : keys) {
        if (auto problem = key_problem(key))
          return make_kv_error(kv_errc::invalid_argument, *problem);
        // Only the key's own store may set its unreadable record aside.
        if (!st.mine(key))
          return make_kv_error(kv_errc::invalid_argument,
                               "digest: a key another store of this node "
                               "serves");
      }
      using reply = caf::result<std::vector<uint64_t>, std::vector<uint32_t>>;
      return guarded<reply>(actor_name, unreadable_record, [&]() -> reply {
        std::vector<uint64_t> digests;
        std::vector<uint32_t> lost;
        for (uint32_t i = 0; i < keys.size(); ++i) {
          loaded_record loaded;
          try {
            loaded = st.load(keys[i]);
          } catch (const corrupt_record_error&) {
            loaded.lost = true; // set aside by load
          }
          if (loaded.lost)
            lost.push_back(i);
          digests.push_back(loaded.lost ? 0
                                        : key_digest(keys[i],
                                                     loaded.record.siblings));
        }
        return caf::make_result(std::move(digests), std::move(lost));
      });
    },
    [=](tombstones_atom, uint64_t first, uint64_t last,
        const std::string& resume_after,
        uint64_t older_than_ms) -> caf::result<partition_chunk> {
      auto& st = self->state;
      if (first > last
          || (!resume_after.empty() && !position_in(resume_after)))
        return make_kv_error(kv_errc::invalid_argument,
                             "tombstones: empty range or malformed resume "
                             "point");
      using reply = caf::result<partition_chunk>;
      return guarded<reply>(actor_name, unreadable_record, [&]() -> reply {
        partition_chunk page;
        page.done = true;
        std::vector<std::string> candidates;
        std::size_t visited = 0;
        st.scan_positions(*st.tombstones, first, last, resume_after,
                          [&](std::string_view stored, uint64_t,
                              std::string_view written) {
          if (candidates.size() >= max_keys_per_reap
              || ++visited > max_index_visits) {
            page.done = false;
            return false;
          }
          page.resume_after.assign(stored);
          auto key = key_in(stored);
          auto ms = parse_number(std::string{written});
          if (st.mine(std::string{key}) && (!ms || *ms < older_than_ms))
            candidates.emplace_back(key);
          return true;
        });
        // Read after the scan: the index cursor is not moved under it.
        for (auto& key : candidates) {
          loaded_record loaded;
          try {
            loaded = st.load(key);
          } catch (const corrupt_record_error&) {
            continue; // set aside by load; restored by anti-entropy
          }
          if (loaded.lost)
            continue;
          if (!only_tombstones(loaded.record.siblings)) {
            // An entry a crash left behind.
            st.tombstones->erase(stored_key(key));
            if (st.tombstone_count > 0)
              --st.tombstone_count;
            continue;
          }
          page.keys.push_back(key);
          page.versions.push_back(std::move(loaded.record.siblings));
        }
        return page;
      });
    },
    [=](reap_atom, const partition_chunk& batch) -> caf::result<uint32_t> {
      auto& st = self->state;
      if (auto problem = st.batch_problem(batch, "reap", true))
        return make_kv_error(kv_errc::invalid_argument, *problem);
      for (auto& versions : batch.versions)
        if (!only_tombstones(versions))
          return make_kv_error(kv_errc::invalid_argument,
                               "reap: only tombstones are reaped");
      using reply = caf::result<uint32_t>;
      return guarded<reply>(actor_name, unreadable_record, [&]() -> reply {
        return st.drop_superseded(batch);
      });
    },
    [=](discard_atom, const partition_chunk& batch) -> caf::result<uint32_t> {
      // Only this node's handoff decides what the node no longer holds.
      auto sender = self->current_sender();
      if (!sender || sender->node() != self->node())
        return make_kv_error(kv_errc::invalid_argument,
                             "discard: only this node's own actors may ask");
      auto& st = self->state;
      // The versions come from this node's own scan: a record stored
      // before a limit was lowered must still be droppable.
      if (auto problem = st.batch_problem(batch, "discard", false))
        return make_kv_error(kv_errc::invalid_argument, *problem);
      using reply = caf::result<uint32_t>;
      return guarded<reply>(actor_name, unreadable_record, [&]() -> reply {
        return st.drop_superseded(batch);
      });
    },
    [=](tree_atom, uint64_t span, const std::vector<uint64_t>& held) {
      auto sender = self->current_sender();
      if (!sender || sender->node() != self->node())
        return;
      self->state.trees->pin(span, held);
    },
    [=](tick_atom) {
      // Only the store's own schedule: a stray tick would start a second
      // chain of build steps.
      if (self->current_sender() != self->ctrl())
        return;
      try {
        build_step(self);
      } catch (const std::exception& e) {
        log_line(log_level::error,
                 std::string{"replica store: an anti-entropy tree build "
                             "failed: "}
                   + e.what());
        self->state.build_scheduled = false;
      }
    },
    [=](stats_atom) {
      auto& st = self->state;
      auto stats = st.stats;
      stats.tombstones = st.tombstone_count;
      if (st.trees) {
        auto counted = st.trees->keys();
        stats.keys = counted.keys;
        stats.keys_complete = counted.complete;
      }
      try {
        stats.engine = st.disk->session.figures();
      } catch (const storage_error& e) {
        log_line(log_level::warning,
                 std::string{"replica store: no engine figures: "}
                   + e.what());
      }
      return stats;
    },
  };
}

} // namespace

std::string records_table(const std::string& prefix) {
  return prefix + "_by_position";
}

std::string tombstones_table(const std::string& prefix) {
  return prefix + "_tombstones";
}

uint64_t index_tombstones(wt_engine& engine, const std::string& prefix) {
  const std::string done_key = "tombstone_index";
  engine.create_table(prefix + "_meta");
  engine.create_table(tombstones_table(prefix));
  auto session = engine.open_session();
  auto meta = session.open_table(prefix + "_meta");
  std::string text;
  if (meta.get(done_key, text) || !engine.has_table(records_table(prefix))) {
    meta.put(done_key, "1");
    return 0;
  }
  auto records = session.open_table(records_table(prefix));
  auto index = session.open_table(tombstones_table(prefix));
  // Their grace period starts now.
  auto now = std::to_string(wall_clock_ms());
  uint64_t indexed = 0;
  records.scan({}, [&](std::string_view stored, std::string_view value) {
    try {
      auto record = decode_key_record(value);
      if (only_tombstones(record.siblings)) {
        index.put(stored, now);
        ++indexed;
      }
    } catch (const corrupt_record_error&) {
      // Set aside by the first read of the key, like any other.
    }
    return true;
  });
  meta.put(done_key, "1");
  if (indexed > 0)
    log_line(log_level::info, "indexed " + std::to_string(indexed)
                                + " deleted keys for tombstone reaping");
  return indexed;
}

uint64_t upgrade_key_layout(wt_engine& engine, const std::string& prefix) {
  if (!engine.has_table(prefix))
    return 0;
  auto target = records_table(prefix);
  engine.create_table(target);
  uint64_t copied = 0;
  {
    auto session = engine.open_session();
    auto from = session.open_table(prefix);
    auto to = session.open_table(target);
    from.scan({}, [&](std::string_view key, std::string_view value) {
      to.put(stored_key(key), value);
      ++copied;
      return true;
    });
  }
  engine.drop_table(prefix);
  log_line(log_level::info, "converted " + std::to_string(copied)
                              + " records to the partitioned layout (table "
                              + target + ")");
  return copied;
}

replica_store_actor spawn_replica_store(caf::actor_system& sys,
                                        std::shared_ptr<wt_engine> engine,
                                        replica_store_settings settings) {
  // Opened here so a failure surfaces as an exception to whoever starts the
  // node, not as a store that dies later.
  engine->create_table(settings.table + "_quarantine");
  engine->create_table(settings.table + "_lost");
  engine->create_table(settings.table + "_meta");
  engine->create_table(records_table(settings.table));
  engine->create_table(tombstones_table(settings.table));
  auto disk = std::make_shared<owned_table>(std::move(engine),
                                            records_table(settings.table));
  return sys.spawn<caf::detached>(replica_store, std::move(disk),
                                  std::move(settings));
}

} // namespace kv
