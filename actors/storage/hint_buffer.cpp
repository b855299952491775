#include "actors/storage/hint_buffer.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/key_hash.hpp"
#include "actors/log.hpp"
#include "actors/storage/storage_guard.hpp"
#include "messages/caf_types.hpp"
#include "persistence/record_codec.hpp"
#include "persistence/storage_error.hpp"

// How the hint buffer works
//
// Table: one record per (owner, key), key = owner + '\0' + key, value =
// encode_hint(hint), so one owner's hints form a contiguous key range that a
// prefix scan visits. Owner ids cannot contain '\0' (refused), keys can.
//
// Memory: per owner, the number of records and their bytes (record key +
// value), rebuilt by one key scan at spawn, plus a lower bound on the
// created_ms of its hints (`oldest_ms`). A sweep of an owner is due once that
// bound is past max_age; the sweep deletes what expired and recomputes the
// bound exactly. After a restart the bound is 0, so the first tick sweeps.
//
// Delivery: each tick, every owner whose latest card says `up`, with hints,
// stores, no batch in flight and no backoff pending gets a batch: up to
// `batch` hints from its prefix, each sent as apply_atom to the store that
// serves its key. A hint is deleted on `ok` only if its record still holds the
// bytes that were sent (a hint merged in meanwhile stays for the next round).
// A batch with any failure backs the owner off (doubling, capped); a clean
// batch resets the backoff and, if hints remain, the next batch goes at once.
// A card that turns an owner up or changes its stores resets the backoff and
// starts a batch at once.

namespace kv {

namespace {

constexpr const char* actor_name = "hint buffer";
const std::string unreadable_record = "the held hint is unreadable";

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char separator = '\0';

// No hint held: nothing can expire.
constexpr uint64_t no_hint_ms = std::numeric_limits<uint64_t>::max();

// Records a sweep visits per scan, so the list of keys to delete stays small.
constexpr size_t sweep_chunk = 1024;

std::string prefix_of(const std::string& owner) {
  std::string result = owner;
  result += separator;
  return result;
}

bool has_prefix(std::string_view bytes, std::string_view prefix) {
  return bytes.size() >= prefix.size()
         && bytes.compare(0, prefix.size(), prefix) == 0;
}

uint64_t minus(uint64_t x, uint64_t y) {
  return x > y ? x - y : 0;
}

struct owner_entry {
  // What the table holds for this owner.
  uint64_t count = 0;
  uint64_t bytes = 0;
  uint64_t oldest_ms = no_hint_ms; // <= created_ms of every hint held
  // The latest card for this owner.
  bool known = false;
  member_status status = member_status::down;
  std::vector<replica_store_actor> stores;
  // Delivery.
  bool in_flight = false;
  milliseconds backoff{0};
  steady::time_point next_attempt{};
  // The batches (retries included) since the buffer started delivering to
  // this owner: logged once when they start and once when the owner has
  // everything, not per batch.
  bool delivering = false;
  uint64_t delivered_in_run = 0;
  steady::time_point run_started{};
};

using owner_map = std::map<std::string, owner_entry>; // sorted by owner

// One batch of deliveries to one owner.
struct batch_progress {
  size_t outstanding = 0;
  uint64_t delivered = 0;
  uint64_t kept = 0; // acknowledged, but a newer hint replaced the record
  bool failed = false;
  caf::error first_error;
};

struct hint_buffer_state {
  std::shared_ptr<owned_table> disk;
  // Hints the owner refused as invalid (a retry cannot help), kept for the
  // operator. Declared after `disk`: its cursor closes before the session.
  std::optional<wt_table> rejected;
  hint_buffer_settings settings;
  owner_map owners;
  uint64_t total_count = 0;
  uint64_t total_bytes = 0;
  uint64_t expired_total = 0; // hints dropped by expiry since the start
  uint64_t stored_total = 0;    // hints accepted since the start
  uint64_t delivered_total = 0; // hints their targets acknowledged
  uint64_t rejected_total = 0;  // hints set aside as invalid
  std::string buffer;         // reused for reads
  ring_snapshot ring = std::make_shared<const kv::ring>();

  // Not on the ring now nor after the change in transfer: its hints go to
  // the keys' current owners.
  bool gone(const std::string& owner) const {
    return !ring->empty() && ring->current().find(owner) == nullptr
           && ring->next().find(owner) == nullptr;
  }

  // The stores a hint for `owner` and `key` is delivered to: the owner's,
  // or, when it is gone, those of the key's current owners (empty if one of
  // them is not up: all must take it, since the gone owner counted for the
  // write).
  std::vector<replica_store_actor> targets(const owner_entry& e,
                                           const std::string& owner,
                                           const std::string& key) const {
    std::vector<replica_store_actor> result;
    auto shard_of = [&](const std::vector<replica_store_actor>& stores) {
      return stores[store_shard_of(key, static_cast<uint32_t>(stores.size()))];
    };
    auto also = [&](const std::string& id) {
      auto i = owners.find(id);
      if (i == owners.end() || !i->second.known
          || i->second.status != member_status::up || i->second.stores.empty())
        return false;
      result.push_back(shard_of(i->second.stores));
      return true;
    };
    auto width = std::max<uint32_t>(ring->current().list_length(), 1);
    if (!gone(owner)) {
      if (e.stores.empty())
        return {};
      result.push_back(shard_of(e.stores));
      // During a ring change the nodes taking the key over may already have
      // copied it from this owner: they get the hint too.
      for (auto& id : ring->also_written_to(key, width))
        if (id != owner && !also(id))
          return {};
      return result;
    }
    for (auto& id : ring->preference_list(key, width)) {
      if (!also(id))
        return {};
    }
    return result;
  }

  static inline const char* name = "hint_buffer";

  bool expired(uint64_t created_ms, uint64_t now_ms) const {
    return now_ms > created_ms
           && now_ms - created_ms
                >= static_cast<uint64_t>(settings.max_age.count());
  }

  // Deletes one record of `bytes` bytes (record key + value) held for an
  // owner; the counts change only if it was there.
  bool erase_record(owner_entry& e, const std::string& record_key,
                    uint64_t bytes) {
    if (!disk->table.erase(record_key))
      return false;
    e.count = minus(e.count, 1);
    e.bytes = minus(e.bytes, bytes);
    total_count = minus(total_count, 1);
    total_bytes = minus(total_bytes, bytes);
    if (e.count == 0) {
      e.bytes = 0;
      e.oldest_ms = no_hint_ms;
    }
    return true;
  }

  void log_dropped(const std::string& owner, uint64_t expired,
                   uint64_t corrupt) {
    if (expired > 0) {
      expired_total += expired;
      log_line(log_level::warning,
               "hint buffer: dropped " + std::to_string(expired)
                 + " hints for " + owner + " older than "
                 + std::to_string(settings.max_age.count())
                 + " ms (hint window; repair must bring it up to date); "
                 + std::to_string(expired_total)
                 + " expired since start");
    }
    if (corrupt > 0)
      log_line(log_level::error,
               "hint buffer: dropped " + std::to_string(corrupt)
                 + " unreadable hint records for " + owner);
  }
};

using hint_buffer_impl = hint_buffer_node_actor::extend<caf::reacts_to<tick_atom>>;
using buffer_pointer = hint_buffer_impl::stateful_pointer<hint_buffer_state>;

void schedule_tick(buffer_pointer self) {
  self->delayed_send(self, self->state.settings.tick, tick_atom::value);
}

// Deletes the expired (and unreadable) hints of one owner and recomputes
// its oldest_ms.
void sweep_owner(buffer_pointer self, const std::string& owner,
                 owner_entry& e, uint64_t now_ms) {
  auto& st = self->state;
  auto prefix = prefix_of(owner);
  std::string from = prefix;
  uint64_t oldest = no_hint_ms;
  uint64_t expired = 0;
  uint64_t corrupt = 0;
  for (;;) {
    std::vector<std::pair<std::string, uint64_t>> drop;
    std::string last;
    bool done = true;
    size_t visited = 0;
    st.disk->table.scan(from, [&](std::string_view k, std::string_view v) {
      if (!has_prefix(k, prefix))
        return false;
      last.assign(k);
      try {
        auto created = decode_hint(v).created_ms;
        if (st.expired(created, now_ms)) {
          drop.emplace_back(std::string{k}, k.size() + v.size());
          ++expired;
        } else {
          oldest = std::min(oldest, created);
        }
      } catch (const corrupt_record_error&) {
        drop.emplace_back(std::string{k}, k.size() + v.size());
        ++corrupt;
      }
      if (++visited >= sweep_chunk) {
        done = false;
        return false;
      }
      return true;
    });
    for (auto& [record_key, bytes] : drop)
      st.erase_record(e, record_key, bytes);
    if (done)
      break;
    from = last;
    from += separator; // the smallest key after `last`
  }
  e.oldest_ms = e.count > 0 ? oldest : no_hint_ms;
  st.log_dropped(owner, expired, corrupt);
}

void deliver(buffer_pointer self, const std::string& owner);

// One batch to `owner` ended.
void finish_batch(buffer_pointer self, const std::string& owner,
                  const std::shared_ptr<batch_progress>& progress) {
  auto& st = self->state;
  auto i = st.owners.find(owner);
  if (i == st.owners.end())
    return;
  auto& e = i->second;
  e.in_flight = false;
  e.delivered_in_run += progress->delivered;
  if (progress->failed) {
    auto& s = st.settings;
    e.backoff = e.backoff.count() == 0
                  ? s.retry_min
                  : std::min(milliseconds{e.backoff.count() * 2}, s.retry_max);
    e.next_attempt = steady::now() + e.backoff;
    log_line(log_level::warning,
             "hint buffer: delivering hints to " + owner
               + " failed: " + describe(progress->first_error) + "; "
               + std::to_string(e.delivered_in_run)
               + " delivered so far, " + std::to_string(e.count)
               + " held, next try in "
               + std::to_string(e.backoff.count()) + " ms");
    return;
  }
  if (e.backoff.count() > 0)
    log_line(log_level::info,
             "hint buffer: delivering hints to " + owner + " again; "
               + std::to_string(e.count) + " held");
  e.backoff = milliseconds{0};
  e.next_attempt = steady::time_point{};
  if (e.count == 0 && e.delivering) {
    e.delivering = false;
    log_line(log_level::info,
             "hint buffer: delivered "
               + std::to_string(std::exchange(e.delivered_in_run, 0))
               + " hint(s) to " + owner + " in "
               + std::to_string(std::chrono::duration_cast<milliseconds>(
                                  steady::now() - e.run_started)
                                  .count())
               + " ms");
  }
  // More to do: go on at once instead of waiting for a tick.
  deliver(self, owner);
}

// Errors with which an owner refuses the versions themselves: the same
// hint would be refused forever, and would hold up the ones behind it.
bool refused_as_invalid(const caf::error& err) {
  return is_kv_error(err, kv_errc::invalid_argument)
         || is_kv_error(err, kv_errc::value_too_large)
         || is_kv_error(err, kv_errc::key_too_large);
}

void fail_one(buffer_pointer self, const std::string& owner,
              const std::shared_ptr<batch_progress>& progress,
              caf::error err) {
  if (!progress->failed) {
    progress->failed = true;
    progress->first_error = std::move(err);
  }
  if (--progress->outstanding == 0)
    finish_batch(self, owner, progress);
}

// The owner's store acknowledged `record_key`, whose record held `sent`.
void delivered_one(buffer_pointer self, const std::string& owner,
                   const std::string& record_key, const std::string& sent,
                   const std::shared_ptr<batch_progress>& progress) {
  auto& st = self->state;
  try {
    auto i = st.owners.find(owner);
    if (i != st.owners.end() && st.disk->table.get(record_key, st.buffer)
        && st.buffer == sent) {
      st.erase_record(i->second, record_key, record_key.size() + sent.size());
      ++progress->delivered;
      ++st.delivered_total;
    } else {
      ++progress->kept; // merged with a newer hint, or expired meanwhile
    }
  } catch (const storage_error& e) {
    log_line(log_level::error,
             std::string{"hint buffer: storage failure: "} + e.what());
    fail_one(self, owner, progress,
             make_kv_error(kv_errc::storage_failure, e.what()));
    return;
  }
  if (--progress->outstanding == 0)
    finish_batch(self, owner, progress);
}

// The owner refused `record_key` (holding `sent`) as invalid: moved to the
// rejected table instead of being retried.
void rejected_one(buffer_pointer self, const std::string& owner,
                  const std::string& record_key, const std::string& sent,
                  const std::shared_ptr<batch_progress>& progress,
                  const caf::error& err) {
  auto& st = self->state;
  try {
    auto i = st.owners.find(owner);
    if (i != st.owners.end() && st.disk->table.get(record_key, st.buffer)
        && st.buffer == sent) {
      st.rejected->put(record_key, sent);
      st.erase_record(i->second, record_key, record_key.size() + sent.size());
      ++st.rejected_total;
      log_line(log_level::error,
               "hint buffer: " + owner + " refused a hint as invalid ("
                 + describe(err) + "); it is set aside in table "
                 + st.settings.table + "_rejected");
    }
  } catch (const storage_error& e) {
    fail_one(self, owner, progress,
             make_kv_error(kv_errc::storage_failure, e.what()));
    return;
  }
  if (--progress->outstanding == 0)
    finish_batch(self, owner, progress);
}

// Starts a batch of deliveries to `owner` if it is due.
void deliver(buffer_pointer self, const std::string& owner) {
  auto& st = self->state;
  auto i = st.owners.find(owner);
  if (i == st.owners.end())
    return;
  auto& e = i->second;
  bool redirected = st.gone(owner);
  if (e.in_flight || e.count == 0 || steady::now() < e.next_attempt
      || (!redirected
          && (!e.known || e.status != member_status::up || e.stores.empty())))
    return;
  struct item {
    std::string record_key;
    std::string key;
    sibling_list versions;
    std::string raw;
  };
  std::vector<item> items;
  auto prefix = prefix_of(owner);
  auto now_ms = wall_clock_ms();
  const size_t batch = st.settings.batch;
  // Expired and unreadable records found on the way are deleted; a scan
  // visits a bounded number of them before it deletes them and goes on.
  const size_t visit_limit = batch * 8 + 64;
  try {
    for (;;) {
      std::vector<std::pair<std::string, uint64_t>> drop;
      uint64_t expired = 0;
      uint64_t corrupt = 0;
      size_t visited = 0;
      st.disk->table.scan(prefix, [&](std::string_view k, std::string_view v) {
        if (!has_prefix(k, prefix))
          return false;
        ++visited;
        try {
          auto h = decode_hint(v);
          if (st.expired(h.created_ms, now_ms)) {
            drop.emplace_back(std::string{k}, k.size() + v.size());
            ++expired;
          } else {
            items.push_back(item{std::string{k},
                                 std::string{k.substr(prefix.size())},
                                 std::move(h.versions), std::string{v}});
          }
        } catch (const corrupt_record_error&) {
          drop.emplace_back(std::string{k}, k.size() + v.size());
          ++corrupt;
        }
        return items.size() < batch && visited < visit_limit;
      });
      for (auto& [record_key, bytes] : drop)
        st.erase_record(e, record_key, bytes);
      st.log_dropped(owner, expired, corrupt);
      // Stop unless the scan gave up on a stretch of deleted records.
      if (!items.empty() || visited < visit_limit)
        break;
    }
  } catch (const storage_error& err) {
    log_line(log_level::error,
             std::string{"hint buffer: storage failure: "} + err.what());
    return; // the next tick tries again
  }
  if (items.empty())
    return;
  auto progress = std::make_shared<batch_progress>();
  progress->outstanding = items.size();
  e.in_flight = true;
  if (!e.delivering) {
    e.delivering = true;
    e.run_started = steady::now();
    log_line(log_level::info,
             "hint buffer: delivering " + std::to_string(e.count)
               + " hint(s) to "
               + (redirected ? "the current owners of the keys of " + owner
                                 + " (it left the ring)"
                             : owner));
  }
  auto timeout = st.settings.delivery_timeout;
  for (auto& x : items) {
    // Copied handles: a card arriving while the batch runs replaces them.
    auto stores = st.targets(e, owner, x.key);
    if (stores.empty()
        || std::any_of(stores.begin(), stores.end(),
                       [](auto& store) { return !store; })) {
      fail_one(self, owner, progress,
               make_kv_error(kv_errc::unavailable,
                             redirected ? "an owner of a key of " + owner
                                            + " (no longer on the ring) is "
                                              "not up"
                                        : "the card of " + owner
                                            + " has no store handle"));
      continue;
    }
    // The record is done when every target has it; one refusal as invalid
    // sets it aside, any other failure keeps it for the next try.
    auto waiting = std::make_shared<std::size_t>(stores.size());
    auto failure = std::make_shared<caf::error>();
    auto settle = [self, owner, progress, waiting, failure,
                   record_key = x.record_key, raw = x.raw]() {
      if (--*waiting > 0)
        return;
      if (!*failure)
        delivered_one(self, owner, record_key, raw, progress);
      else if (refused_as_invalid(*failure))
        rejected_one(self, owner, record_key, raw, progress, *failure);
      else
        fail_one(self, owner, progress, std::move(*failure));
    };
    for (auto& store : stores)
      self->request(store, timeout, apply_atom::value, x.key, x.versions)
        .then([settle](ok_atom) mutable { settle(); },
              [settle, failure](caf::error& err) mutable {
                if (!*failure)
                  *failure = std::move(err);
                settle();
              });
  }
}

caf::result<ok_atom> add_hint(buffer_pointer self, hint& h) {
  auto& st = self->state;
  const auto& owner = h.intended_owner;
  if (owner.empty())
    return make_kv_error(kv_errc::invalid_argument,
                         "a hint needs the node id of its intended owner");
  if (owner.find(separator) != std::string::npos)
    return make_kv_error(kv_errc::invalid_argument,
                         "a node id cannot contain a NUL byte");
  if (auto problem = key_problem(h.key))
    return make_kv_error(h.key.empty() ? kv_errc::invalid_argument
                                       : kv_errc::key_too_large,
                         *problem);
  if (h.versions.empty())
    return make_kv_error(kv_errc::invalid_argument,
                         "a hint must carry at least one version");
  using reply = caf::result<ok_atom>;
  return guarded<reply>(actor_name, unreadable_record, [&]() -> reply {
    // Clocks of other nodes may be ahead: never let a hint outlive the
    // window by claiming a future creation time.
    auto now_ms = wall_clock_ms();
    auto created = h.created_ms == 0 || h.created_ms > now_ms ? now_ms
                                                              : h.created_ms;
    auto record_key = prefix_of(owner) + h.key;
    hint merged{owner, h.key, std::move(h.versions), created};
    bool existed = st.disk->table.get(record_key, st.buffer);
    uint64_t old_bytes = existed ? record_key.size() + st.buffer.size() : 0;
    if (existed) {
      try {
        auto held = decode_hint(st.buffer);
        merged.versions = reconcile(held.versions, merged.versions);
        // The newer creation time: every write held gets the whole window.
        // With the older one the newest write expired with the oldest and
        // its owner never got it (the hint is bounded anyway: versions
        // reconcile into one sibling set per key).
        merged.created_ms = std::max(held.created_ms, created);
      } catch (const corrupt_record_error& e) {
        log_line(log_level::warning,
                 "hint buffer: replacing an unreadable hint for " + owner
                   + ": " + e.what());
      }
    }
    auto encoded = encode_hint(merged);
    if (existed && encoded == st.buffer)
      return ok_atom::value; // nothing new
    uint64_t new_bytes = record_key.size() + encoded.size();
    auto count_after = st.total_count + (existed ? 0 : 1);
    auto bytes_after = minus(st.total_bytes, old_bytes) + new_bytes;
    auto& s = st.settings;
    if ((!existed && count_after > s.max_hints)
        || (new_bytes > old_bytes && bytes_after > s.max_bytes))
      return make_kv_error(
        kv_errc::unavailable,
        "hint buffer full: " + std::to_string(st.total_count) + " of "
          + std::to_string(s.max_hints) + " hints / "
          + std::to_string(st.total_bytes) + " of "
          + std::to_string(s.max_bytes) + " bytes held; the hint for "
          + owner + " is refused");
    st.disk->table.put(record_key, encoded);
    auto& e = st.owners[owner];
    if (!existed)
      ++e.count;
    e.bytes = minus(e.bytes, old_bytes) + new_bytes;
    e.oldest_ms = std::min(e.oldest_ms, merged.created_ms);
    st.total_count = count_after;
    st.total_bytes = bytes_after;
    ++st.stored_total;
    return ok_atom::value;
  });
}

hint_buffer_impl::behavior_type
hint_buffer(buffer_pointer self, std::shared_ptr<owned_table> disk,
            hint_buffer_settings settings, owner_map index) {
  auto& st = self->state;
  st.disk = std::move(disk);
  st.settings = std::move(settings);
  // On the actor's own session; the table was created at spawn.
  st.rejected.emplace(
    st.disk->session.open_table(st.settings.table + "_rejected"));
  st.owners = std::move(index);
  for (auto& [owner, e] : st.owners) {
    st.total_count += e.count;
    st.total_bytes += e.bytes;
  }
  if (st.total_count > 0)
    log_line(log_level::info,
             "hint buffer: " + std::to_string(st.total_count) + " hints for "
               + std::to_string(st.owners.size())
               + " owners held from before the restart");
  schedule_tick(self);
  return {
    [=](hint_atom, hint& h) { return add_hint(self, h); },
    [=](read_atom, const std::string& owner,
        const std::string& key) -> caf::result<sibling_list> {
      auto& st = self->state;
      if (owner.empty() || owner.find(separator) != std::string::npos
          || key.empty())
        return sibling_list{};
      using reply = caf::result<sibling_list>;
      return guarded<reply>(actor_name, unreadable_record, [&]() -> reply {
        if (!st.disk->table.get(prefix_of(owner) + key, st.buffer))
          return sibling_list{};
        return decode_hint(st.buffer).versions;
      });
    },
    [=](members_atom, std::vector<node_card>& cards) {
      auto& st = self->state;
      std::vector<std::string> woken;
      for (auto& card : cards) {
        const auto& owner = card.info.node_id;
        if (owner.empty())
          continue;
        auto& e = st.owners[owner];
        bool was_up = e.known && e.status == member_status::up;
        bool now_up = card.info.status == member_status::up;
        bool new_stores = e.stores != card.stores;
        e.known = true;
        e.status = card.info.status;
        e.stores = std::move(card.stores);
        // News about the owner: stop waiting out a backoff earned against
        // its previous state.
        if (now_up && (!was_up || new_stores)) {
          e.backoff = milliseconds{0};
          e.next_attempt = steady::time_point{};
          woken.push_back(owner);
        }
      }
      for (auto& owner : woken)
        deliver(self, owner);
    },
    [=](ring_atom, ring_snapshot& ring) {
      auto& st = self->state;
      st.ring = std::move(ring);
      for (auto& [owner, e] : st.owners)
        if (e.count > 0 && st.gone(owner)) {
          e.backoff = milliseconds{0};
          e.next_attempt = steady::time_point{};
          deliver(self, owner);
        }
    },
    [=](stats_atom) {
      auto& st = self->state;
      return hint_stats{st.total_count, st.total_bytes, st.stored_total,
                        st.delivered_total, st.expired_total,
                        st.rejected_total};
    },
    [=](get_atom, hint_atom)
      -> caf::result<std::vector<std::string>, std::vector<uint64_t>> {
      std::vector<std::string> names;
      std::vector<uint64_t> counts;
      for (auto& [owner, e] : self->state.owners)
        if (e.count > 0) {
          names.push_back(owner);
          counts.push_back(e.count);
        }
      return {std::move(names), std::move(counts)};
    },
    [=](hint_atom, const std::vector<std::string>& keys)
      -> caf::result<std::vector<uint32_t>> {
      auto& st = self->state;
      if (keys.size() > max_keys_per_reap)
        return make_kv_error(kv_errc::invalid_argument,
                             "hint: more keys than a reaping batch holds");
      using reply = caf::result<std::vector<uint32_t>>;
      return guarded<reply>(actor_name, unreadable_record, [&]() -> reply {
        std::vector<uint32_t> held;
        for (uint32_t i = 0; i < keys.size(); ++i)
          for (auto& [owner, e] : st.owners)
            if (e.count > 0 && !keys[i].empty()
                && st.disk->table.get(prefix_of(owner) + keys[i],
                                      st.buffer)) {
              held.push_back(i);
              break;
            }
        return held;
      });
    },
    [=](tick_atom) {
      auto& st = self->state;
      auto now_ms = wall_clock_ms();
      for (auto& [owner, e] : st.owners) {
        try {
          if (e.count > 0 && st.expired(e.oldest_ms, now_ms))
            sweep_owner(self, owner, e, now_ms);
        } catch (const storage_error& err) {
          log_line(log_level::error,
                   std::string{"hint buffer: storage failure: "} + err.what());
        }
        deliver(self, owner);
      }
      schedule_tick(self);
    },
  };
}

// Counts the records per owner (keys and sizes only: the first tick's sweep
// reads the hints themselves).
owner_map rebuild_index(wt_table& table) {
  owner_map index;
  table.scan({}, [&](std::string_view k, std::string_view v) {
    auto owner = k.substr(0, k.find(separator));
    auto& e = index[std::string{owner}];
    ++e.count;
    e.bytes += k.size() + v.size();
    e.oldest_ms = 0; // unknown until swept
    return true;
  });
  return index;
}

} // namespace

hint_buffer_node_actor spawn_hint_buffer(caf::actor_system& sys,
                                    std::shared_ptr<wt_engine> engine,
                                    hint_buffer_settings settings) {
  settings.batch = std::max<uint32_t>(settings.batch, 1);
  settings.tick = std::max(settings.tick, milliseconds{1});
  settings.retry_min = std::max(settings.retry_min, milliseconds{1});
  settings.retry_max = std::max(settings.retry_max, settings.retry_min);
  settings.delivery_timeout = std::max(settings.delivery_timeout,
                                       milliseconds{1});
  // Opened (and counted) here so a failure surfaces as an exception to
  // whoever starts the node, not as a buffer that dies later.
  engine->create_table(settings.table);
  engine->create_table(settings.table + "_rejected");
  auto disk = std::make_shared<owned_table>(std::move(engine),
                                               settings.table);
  auto index = rebuild_index(disk->table);
  auto hdl = sys.spawn<caf::detached>(hint_buffer, std::move(disk),
                                      std::move(settings), std::move(index));
  return caf::actor_cast<hint_buffer_node_actor>(hdl);
}

} // namespace kv
