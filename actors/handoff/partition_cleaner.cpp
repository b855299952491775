#include "actors/handoff/partition_cleaner.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>

#include <caf/all.hpp>

#include "actors/antientropy/merkle_tree.hpp"
#include "actors/key_hash.hpp"
#include "actors/log.hpp"
#include "messages/anti_entropy.hpp"
#include "messages/caf_types.hpp"
#include "messages/validation.hpp"

namespace kv {

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// One pass over the partitions this node does not hold in one ring version.
struct cleanup_pass {
  uint64_t ring_version = 0;
  std::deque<uint32_t> partitions;
  std::string resume_after; // in the first partition
  bool incomplete = false;  // a partition waits for an owner to be up
  uint64_t dropped = 0;
  uint64_t sent = 0;
};

struct partition_cleaner_state {
  partition_cleaner_settings settings;
  std::vector<replica_store_actor> stores;
  ring_snapshot ring = std::make_shared<const kv::ring>();
  std::map<std::string, node_card> cards;
  std::optional<cleanup_pass> pass;
  // When the ring took its current version (reset by any change), and when
  // the last complete pass over it ended.
  uint64_t settled_version = 0;
  steady::time_point settled_since = steady::now();
  std::optional<steady::time_point> cleaned_at;
  // Bumped whenever the ring changes: answers for older work are dropped.
  uint64_t generation = 0;
  bool waiting = false; // requests of a chunk are outstanding
  bool tick_pending = false;
  steady::time_point window_start = steady::now();
  uint64_t window_bytes = 0;
  steady::time_point last_warning;
  uint64_t passes = 0;
  uint64_t dropped = 0;
  uint64_t sent = 0;

  static inline const char* name = "partition_cleaner";

  bool settled() const {
    return !ring->empty() && !ring->in_transition() && !ring->draining();
  }

  // The owners of partition p now (its replica list), or nothing if one of
  // them is not up: what they lack cannot be checked.
  std::optional<std::vector<node_card>> owners_of(uint32_t p) const {
    auto& map = ring->current();
    std::vector<node_card> result;
    for (uint32_t i = 0; i < map.list_length(); ++i) {
      auto& id = map.members()[map.replicas_of(p)[i]].node_id;
      auto found = cards.find(id);
      if (found == cards.end() || found->second.stores.empty()
          || found->second.info.status != member_status::up)
        return std::nullopt;
      result.push_back(found->second);
    }
    return result;
  }

  // Partitions whose replica list does not name this node.
  std::deque<uint32_t> not_held() const {
    auto& map = ring->current();
    std::deque<uint32_t> result;
    for (uint32_t p = 0; p < map.partition_count(); ++p) {
      bool held = false;
      for (uint32_t i = 0; i < map.list_length() && !held; ++i)
        held = map.members()[map.replicas_of(p)[i]].node_id
               == settings.node_id;
      if (!held)
        result.push_back(p);
    }
    return result;
  }
};

using cleaner_pointer
  = partition_cleaner_actor::stateful_pointer<partition_cleaner_state>;

void consider(cleaner_pointer self);

void later(cleaner_pointer self, milliseconds wait) {
  auto& st = self->state;
  if (st.tick_pending)
    return;
  st.tick_pending = true;
  self->delayed_send(self, std::max(wait, milliseconds{1}), tick_atom::value);
}

void warn(cleaner_pointer self, const std::string& what) {
  auto& st = self->state;
  auto now = steady::now();
  if (now - st.last_warning < std::chrono::seconds{10})
    return;
  st.last_warning = now;
  log_line(log_level::warning, "partition cleanup: " + what);
}

void failed(cleaner_pointer self, uint64_t generation, const std::string& why) {
  auto& st = self->state;
  if (generation != st.generation)
    return;
  st.waiting = false;
  warn(self, why + "; retrying");
  later(self, st.settings.retry);
}

// The pause that keeps the reading at or under the configured rate.
milliseconds pacing(partition_cleaner_state& st, std::size_t bytes) {
  st.window_bytes += bytes;
  auto elapsed = steady::now() - st.window_start;
  auto due = std::chrono::duration_cast<milliseconds>(
    std::chrono::duration<double>(static_cast<double>(st.window_bytes)
                                  / static_cast<double>(
                                    st.settings.max_bytes_per_s)));
  if (elapsed > std::chrono::seconds{1}) {
    st.window_start = steady::now();
    st.window_bytes = 0;
  }
  auto ahead = due - std::chrono::duration_cast<milliseconds>(elapsed);
  return std::max(ahead, milliseconds{0});
}

// The requests of one stage still outstanding, and whether one failed (the
// stage is then retried whole, once).
struct stage {
  std::size_t outstanding = 0;
  bool failed = false;
};

// The chunk's records, `keep[i]` set for those not to drop this time.
struct chunk_work {
  partition_chunk chunk;
  std::vector<uint64_t> digests; // this node's, per key
  std::vector<bool> keep;
  std::size_t bytes = 0;
};

void next_chunk(cleaner_pointer self);

// Keys of `work` grouped by the store (of `shards` stores) that serves
// them, in batches a store takes at once.
std::vector<std::pair<uint32_t, std::vector<std::size_t>>>
batches_by_shard(const chunk_work& work, std::size_t shards,
                 bool skip_kept) {
  std::map<uint32_t, std::vector<std::size_t>> by_shard;
  for (std::size_t i = 0; i < work.chunk.keys.size(); ++i)
    if (!skip_kept || !work.keep[i])
      by_shard[store_shard_of(work.chunk.keys[i],
                              static_cast<uint32_t>(shards))]
        .push_back(i);
  std::vector<std::pair<uint32_t, std::vector<std::size_t>>> result;
  for (auto& [shard, indices] : by_shard)
    for (std::size_t from = 0; from < indices.size();
         from += max_keys_per_reap) {
      auto to = std::min(indices.size(), from + max_keys_per_reap);
      result.emplace_back(shard, std::vector<std::size_t>(
                                   indices.begin() + from,
                                   indices.begin() + to));
    }
  return result;
}

// The chunk is done: on to the next one, at the configured rate.
void chunk_done(cleaner_pointer self, std::shared_ptr<chunk_work> work) {
  auto& st = self->state;
  st.waiting = false;
  auto& pass = *st.pass;
  if (work->chunk.done) {
    pass.partitions.pop_front();
    pass.resume_after.clear();
  } else {
    pass.resume_after = work->chunk.resume_after;
  }
  auto pause = pacing(st, work->bytes);
  if (pause.count() > 0)
    later(self, pause);
  else
    next_chunk(self);
}

// Last stage: each store drops its records that are unchanged since the
// chunk was read.
void drop_chunk(cleaner_pointer self, uint64_t generation,
                std::shared_ptr<chunk_work> work) {
  auto& st = self->state;
  auto batches = batches_by_shard(*work, st.stores.size(), true);
  if (batches.empty())
    return chunk_done(self, work);
  auto progress = std::make_shared<stage>();
  progress->outstanding = batches.size();
  for (auto& [shard, indices] : batches) {
    partition_chunk batch;
    for (auto i : indices) {
      batch.keys.push_back(work->chunk.keys[i]);
      batch.versions.push_back(work->chunk.versions[i]);
    }
    self
      ->request(st.stores[shard], st.settings.request_timeout,
                discard_atom::value, std::move(batch))
      .then(
        [=](uint32_t dropped) {
          auto& st = self->state;
          if (generation != st.generation)
            return;
          st.dropped += dropped;
          st.pass->dropped += dropped;
          if (--progress->outstanding == 0 && !progress->failed)
            chunk_done(self, work);
        },
        [=](caf::error& err) {
          if (!progress->failed) {
            progress->failed = true;
            failed(self, generation,
                   "this node's store did not drop records: "
                     + describe(err));
          }
        });
  }
}

// Second stage: every owner that lacks a record gets this node's versions
// (merged there like any write).
void send_missing(cleaner_pointer self, uint64_t generation,
                  std::shared_ptr<chunk_work> work,
                  std::vector<node_card> owners,
                  std::shared_ptr<std::vector<std::vector<bool>>> lacks) {
  auto& st = self->state;
  auto progress = std::make_shared<stage>();
  std::vector<std::pair<replica_store_actor, std::size_t>> sends;
  for (std::size_t o = 0; o < owners.size(); ++o)
    for (std::size_t i = 0; i < work->chunk.keys.size(); ++i)
      if ((*lacks)[o][i] && !work->keep[i]) {
        auto& stores = owners[o].stores;
        auto shard = store_shard_of(work->chunk.keys[i],
                                    static_cast<uint32_t>(stores.size()));
        sends.emplace_back(stores[shard], i);
      }
  if (sends.empty())
    return drop_chunk(self, generation, work);
  progress->outstanding = sends.size();
  for (auto& [store, i] : sends) {
    self
      ->request(store, st.settings.request_timeout, apply_atom::value,
                work->chunk.keys[i], work->chunk.versions[i])
      .then(
        [=](ok_atom) {
          auto& st = self->state;
          if (generation != st.generation)
            return;
          ++st.sent;
          ++st.pass->sent;
          if (progress->failed)
            return;
          if (--progress->outstanding == 0)
            drop_chunk(self, generation, work);
        },
        [=, i = i](caf::error& err) {
          auto& st = self->state;
          if (generation != st.generation || progress->failed)
            return;
          // The owner refuses the record itself (a value above its own
          // limit): retrying cannot help, and this copy stays.
          if (is_kv_error(err, kv_errc::invalid_argument)
              || is_kv_error(err, kv_errc::value_too_large)
              || is_kv_error(err, kv_errc::key_too_large)) {
            work->keep[i] = true;
            warn(self, "an owner refused a record (" + describe(err)
                         + "); it stays on this node");
            if (--progress->outstanding == 0)
              drop_chunk(self, generation, work);
            return;
          }
          progress->failed = true;
          failed(self, generation,
                 "an owner did not take a record: " + describe(err));
        });
  }
}

// First stage: every owner's digest of every key of the chunk.
void compare_with_owners(cleaner_pointer self, uint64_t generation,
                         std::shared_ptr<chunk_work> work,
                         std::vector<node_card> owners) {
  auto& st = self->state;
  auto count = work->chunk.keys.size();
  auto lacks = std::make_shared<std::vector<std::vector<bool>>>(
    owners.size(), std::vector<bool>(count, false));
  auto progress = std::make_shared<stage>();
  std::vector<std::tuple<std::size_t, replica_store_actor,
                         std::vector<std::size_t>>>
    asks;
  for (std::size_t o = 0; o < owners.size(); ++o) {
    auto& stores = owners[o].stores;
    for (auto& [shard, indices] : batches_by_shard(*work, stores.size(), false))
      asks.emplace_back(o, stores[shard], std::move(indices));
  }
  progress->outstanding = asks.size();
  for (auto& [o, store, indices] : asks) {
    std::vector<std::string> keys;
    for (auto i : indices)
      keys.push_back(work->chunk.keys[i]);
    self
      ->request(store, st.settings.request_timeout, digest_atom::value,
                std::move(keys))
      .then(
        [=, o = o, indices = indices](std::vector<uint64_t>& digests,
                                      std::vector<uint32_t>& lost) {
          auto& st = self->state;
          if (generation != st.generation || progress->failed)
            return;
          if (digests.size() != indices.size()) {
            progress->failed = true;
            failed(self, generation,
                   "an owner answered digests that do not pair up");
            return;
          }
          for (std::size_t j = 0; j < indices.size(); ++j)
            (*lacks)[o][indices[j]] = digests[j] != work->digests[indices[j]];
          // The owner's record is unreadable: this copy may be what repairs
          // it, so it stays until a later pass.
          for (auto j : lost)
            if (j < indices.size())
              work->keep[indices[j]] = true;
          if (--progress->outstanding == 0)
            send_missing(self, generation, work, owners, lacks);
        },
        [=](caf::error& err) {
          if (!progress->failed) {
            progress->failed = true;
            failed(self, generation,
                   "an owner did not answer digests: " + describe(err));
          }
        });
  }
}

// Reads the next chunk of the pass's first partition from this node's
// stores (one scan reads every store's records: they share a table).
void next_chunk(cleaner_pointer self) {
  auto& st = self->state;
  if (st.waiting || !st.pass)
    return;
  auto& pass = *st.pass;
  if (pass.partitions.empty()) {
    if (pass.dropped > 0 || pass.sent > 0)
      log_line(log_level::info,
               "partition cleanup: dropped " + std::to_string(pass.dropped)
                 + " record(s) of partitions this node no longer holds ("
                 + std::to_string(pass.sent)
                 + " sibling set(s) an owner lacked were sent to it first)");
    if (pass.incomplete) {
      // Again once the owners that were not up may be.
      st.settled_since = steady::now();
    } else {
      ++st.passes;
      st.cleaned_at = steady::now();
    }
    st.pass.reset();
    return consider(self);
  }
  auto p = pass.partitions.front();
  auto owners = st.owners_of(p);
  if (!owners) {
    pass.incomplete = true;
    pass.partitions.pop_front();
    pass.resume_after.clear();
    return next_chunk(self);
  }
  auto& map = st.ring->current();
  auto first = map.first_position(p);
  auto last = p + 1 < map.partition_count() ? map.first_position(p + 1) - 1
                                            : ~uint64_t{0};
  auto generation = st.generation;
  st.waiting = true;
  self
    ->request(st.stores.front(), st.settings.request_timeout,
              scan_atom::value, first, last, pass.resume_after,
              st.settings.chunk_bytes)
    .then(
      [=](partition_chunk& chunk) {
        auto& st = self->state;
        if (generation != st.generation)
          return;
        auto work = std::make_shared<chunk_work>();
        work->keep.assign(chunk.keys.size(), false);
        for (std::size_t i = 0; i < chunk.keys.size(); ++i) {
          work->digests.push_back(key_digest(chunk.keys[i],
                                             chunk.versions[i]));
          work->bytes += chunk.keys[i].size();
          for (auto& v : chunk.versions[i])
            work->bytes += v.value.size() + 64;
        }
        work->chunk = std::move(chunk);
        if (work->chunk.keys.empty())
          return chunk_done(self, work);
        compare_with_owners(self, generation, work, *owners);
      },
      [=](caf::error& err) {
        failed(self, generation,
               "cannot read this node's store: " + describe(err));
      });
}

// Starts a pass when the ring has been settled long enough (and, on an
// unchanged ring, when the last pass is old enough), or waits for that.
void consider(cleaner_pointer self) {
  auto& st = self->state;
  if (!st.settled()) {
    if (st.pass || st.waiting) {
      ++st.generation;
      st.pass.reset();
      st.waiting = false;
    }
    return;
  }
  if (st.pass)
    return next_chunk(self);
  auto now = steady::now();
  if (st.settled_version != st.ring->epoch()) {
    st.settled_version = st.ring->epoch();
    st.settled_since = now;
    st.cleaned_at.reset();
  }
  auto due = st.cleaned_at ? *st.cleaned_at + st.settings.every
                           : st.settled_since + st.settings.settle;
  if (now < due)
    return later(self,
                 std::chrono::duration_cast<milliseconds>(due - now));
  cleanup_pass pass;
  pass.ring_version = st.ring->epoch();
  pass.partitions = st.not_held();
  st.pass = std::move(pass);
  next_chunk(self);
}

partition_cleaner_actor::behavior_type
partition_cleaner(cleaner_pointer self, partition_cleaner_settings settings,
                  std::vector<replica_store_actor> stores) {
  self->state.settings = std::move(settings);
  self->state.stores = std::move(stores);
  return {
    [=](ring_atom, ring_snapshot& next) {
      auto& st = self->state;
      if (next->epoch() != st.ring->epoch() && (st.pass || st.waiting)) {
        // A pass belongs to one ring version.
        ++st.generation;
        st.pass.reset();
        st.waiting = false;
      }
      st.ring = std::move(next);
      consider(self);
    },
    [=](members_atom, std::vector<node_card>& cards) {
      self->state.cards = cards_by_id(std::move(cards));
    },
    [=](tick_atom) {
      // Only the cleaner's own timer: a stray tick would start a second
      // chain of requests.
      if (self->current_sender() != self->ctrl())
        return;
      self->state.tick_pending = false;
      consider(self);
    },
    [=](get_atom, discard_atom) {
      auto& st = self->state;
      return caf::make_result(st.passes, st.dropped, st.sent);
    },
  };
}

} // namespace

partition_cleaner_actor
spawn_partition_cleaner(caf::actor_system& sys,
                        partition_cleaner_settings settings,
                        std::vector<replica_store_actor> stores) {
  return sys.spawn(partition_cleaner, std::move(settings), std::move(stores));
}

} // namespace kv
