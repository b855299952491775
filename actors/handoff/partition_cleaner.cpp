#include "actors/handoff/partition_cleaner.hpp"
#include "actors/handoff/transfer_pacer.hpp"

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
  bool incomplete = false;  // something waits for the next pass
  uint64_t dropped = 0;
  uint64_t sent = 0;
};

struct partition_cleaner_state {
  partition_cleaner_settings settings;
  std::vector<replica_store_actor> stores;
  ring_snapshot ring = std::make_shared<const kv::ring>();
  std::map<std::string, node_card> cards;
  std::optional<cleanup_pass> pass;
  // When the ring took its current version, and when the next pass is due
  // (settle after a change or an incomplete pass, every after a complete
  // one).
  uint64_t settled_version = 0;
  steady::time_point next_pass = steady::now();
  // Bumped whenever the ring changes: answers for older work are dropped.
  uint64_t generation = 0;
  bool waiting = false; // requests of a chunk are outstanding
  // The timer: only the latest tick counts, so a shorter wait can replace
  // a longer one.
  uint64_t tick_seq = 0;
  std::optional<steady::time_point> tick_due;
  transfer_pacer pacer{1, 1.0}; // replaced with the settings at spawn
  // Failed attempts at the current chunk in a row: after max_attempts the
  // partition waits for the next pass instead of stalling this one.
  uint32_t failures = 0;
  // No chunk starts before this (pacing, a retry's pause), whatever tick or
  // ring update comes first.
  steady::time_point paused_until;
  log_throttle warnings;
  uint64_t passes = 0;
  uint64_t dropped = 0;
  uint64_t sent = 0;

  static inline const char* name = "partition_cleaner";

  // A ring this node serves on, with nothing in transfer or draining. A
  // node that is not on the ring (it left, was removed while down, or waits
  // to join) sends nothing: its copies may predate deletes reaped since.
  bool may_clean() const {
    if (ring->empty() || ring->in_transition() || ring->draining()
        || ring->current().find(settings.node_id) == nullptr)
      return false;
    for (auto& removed : ring->state().removed)
      if (removed.rfind(settings.node_id + "/", 0) == 0)
        return false;
    return true;
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

  void abandon_pass() {
    ++generation;
    pass.reset();
    waiting = false;
    failures = 0;
  }
};

using cleaner_pointer
  = partition_cleaner_actor::stateful_pointer<partition_cleaner_state>;

void consider(cleaner_pointer self);

// Asks for a tick after `wait`, unless one is due sooner already.
void later(cleaner_pointer self, milliseconds wait) {
  auto& st = self->state;
  wait = std::max(wait, milliseconds{1});
  auto due = steady::now() + wait;
  if (st.tick_due && *st.tick_due <= due)
    return;
  st.tick_due = due;
  self->delayed_send(self, wait, tick_atom::value, ++st.tick_seq);
}

void warn(cleaner_pointer self, const std::string& what) {
  self->state.warnings.line(log_level::warning, "partition cleanup: " + what);
}

// The requests of one stage: how many are outstanding, and the first
// failure. The stage goes on (or is retried) once every reply is in, so
// attempts never overlap.
struct stage {
  std::size_t outstanding = 0;
  std::optional<std::string> failure;
};

// The chunk's records, `keep[i]` set for those not to drop this time.
struct chunk_work {
  partition_chunk chunk;
  std::vector<uint64_t> digests; // this node's, per key
  std::vector<bool> keep;
  std::size_t bytes = 0;
  // A record was kept for a passing reason (it changed, an owner's copy is
  // unreadable): the pass is tried again soon, not only after `every`.
  bool retry_soon = false;
  // When this node's copies were last seen unchanged (recheck_own): merges
  // go out only shortly after.
  steady::time_point checked_at;
};

void next_chunk(cleaner_pointer self);

// One reply of a stage is in: with the last one, `next` runs, or the chunk
// is retried after a pause if a request failed.
constexpr uint32_t max_attempts = 5;

// A step of the current chunk failed: it is tried again after a pause, or,
// after max_attempts, its partition is left to the next pass.
void retry_chunk(cleaner_pointer self, const std::string& why) {
  auto& st = self->state;
  st.waiting = false;
  if (++st.failures >= max_attempts && st.pass) {
    // A lasting fault: the partition waits for the next regular pass (a
    // pass marked incomplete would come back, whole, every settle period).
    st.failures = 0;
    auto& pass = *st.pass;
    pass.partitions.pop_front();
    pass.resume_after.clear();
    warn(self, why + "; the partition waits for the next pass");
  } else {
    warn(self, why + "; retrying");
  }
  st.paused_until = steady::now() + st.settings.retry;
  later(self, st.settings.retry);
}

template <class Next>
void settle_reply(cleaner_pointer self, uint64_t generation,
                  const std::shared_ptr<stage>& progress, Next next) {
  auto& st = self->state;
  if (--progress->outstanding > 0 || generation != st.generation)
    return;
  if (progress->failure)
    return retry_chunk(self, *progress->failure);
  next();
}

// The keys of `work` for which `include(i)` holds, grouped by the store
// (of `shards` stores) that serves them, in batches a store takes at once.
template <class Include>
std::vector<std::pair<uint32_t, std::vector<std::size_t>>>
batches_by_shard(const chunk_work& work, std::size_t shards, Include include) {
  std::map<uint32_t, std::vector<std::size_t>> by_shard;
  for (std::size_t i = 0; i < work.chunk.keys.size(); ++i)
    if (include(i))
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

// Asks `store` for the digests of the keys of `work` at `indices`;
// `take(digests, lost)` gets an answer that pairs up with them. `whose`
// names the store in a failure. Settles one reply of `progress`.
template <class Take, class Next>
void ask_digests(cleaner_pointer self, uint64_t generation,
                 const replica_store_actor& store,
                 std::vector<std::size_t> indices,
                 const std::shared_ptr<chunk_work>& work,
                 const std::shared_ptr<stage>& progress,
                 const std::string& whose, Take take, Next next) {
  std::vector<std::string> keys;
  for (auto i : indices)
    keys.push_back(work->chunk.keys[i]);
  self
    ->request(store, self->state.settings.request_timeout,
              digest_atom::value, std::move(keys))
    .then(
      [=](std::vector<uint64_t>& digests, std::vector<uint32_t>& lost) {
        if (digests.size() != indices.size()) {
          if (!progress->failure)
            progress->failure = whose + " answered digests that do not "
                                        "pair up";
        } else {
          take(indices, digests, lost);
        }
        settle_reply(self, generation, progress, next);
      },
      [=](caf::error& err) {
        if (!progress->failure)
          progress->failure = whose + " did not answer digests: "
                              + describe(err);
        settle_reply(self, generation, progress, next);
      });
}

// The chunk is done: on to the next one, at the configured pace.
void chunk_done(cleaner_pointer self, const std::shared_ptr<chunk_work>& work) {
  auto& st = self->state;
  st.waiting = false;
  auto& pass = *st.pass;
  st.failures = 0;
  if (work->retry_soon)
    pass.incomplete = true;
  if (work->chunk.done) {
    pass.partitions.pop_front();
    pass.resume_after.clear();
  } else {
    pass.resume_after = work->chunk.resume_after;
  }
  auto pause = st.pacer.finished(work->bytes, steady::now());
  st.paused_until = steady::now() + pause;
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
  auto batches = batches_by_shard(*work, st.stores.size(),
                                  [&](std::size_t i) { return !work->keep[i]; });
  if (batches.empty())
    return chunk_done(self, work);
  auto progress = std::make_shared<stage>();
  progress->outstanding = batches.size();
  auto done = [=] { chunk_done(self, work); };
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
          if (generation == st.generation) {
            st.dropped += dropped;
            st.pass->dropped += dropped;
          }
          settle_reply(self, generation, progress, done);
        },
        [=, indices = indices](caf::error& err) {
          if (is_kv_error(err, kv_errc::invalid_argument)) {
            // Refused for good (a record this store would not take now):
            // these stay; retrying cannot help.
            for (auto i : indices)
              work->keep[i] = true;
            warn(self, "this node's store refused to drop records ("
                         + describe(err) + "); they stay");
          } else if (!progress->failure) {
            progress->failure = "this node's store did not drop records: "
                                + describe(err);
          }
          settle_reply(self, generation, progress, done);
        });
  }
}

// At most this many merges of one chunk are outstanding at once: an owner
// with a synced journal takes them one fsync at a time.
constexpr std::size_t max_merges_in_flight = 64;

// Merges go out at most this long after this node's copies were read again
// (recheck_own). A reap needs two agreements a request timeout plus 5 s
// apart, so a merge sent this soon cannot come after a whole delete and
// reap of its key, unless the network holds it back longer than that (the
// reaper's own documented bound).
constexpr std::chrono::seconds max_merge_delay{2};

// A merge to send: the owner's store, the key's index, the owner's digest.
using merge_send = std::tuple<replica_store_actor, std::size_t, uint64_t>;

// Third stage: every owner that lacks a record gets this node's versions,
// merged only if the owner's record is still the one it reported (a record
// reaped meanwhile must not come back from this old copy), a window of
// them at a time.
void send_next_merge(cleaner_pointer self, uint64_t generation,
                     std::shared_ptr<chunk_work> work,
                     std::shared_ptr<std::vector<merge_send>> sends,
                     std::shared_ptr<std::size_t> next_send,
                     std::shared_ptr<stage> progress) {
  auto& st = self->state;
  if (*next_send >= sends->size())
    return;
  if (generation != st.generation || progress->failure
      || steady::now() - work->checked_at > max_merge_delay) {
    // The rest is not sent: the pass was given up, the chunk is retried
    // anyway, or the owners' digests are too old to trust (a reap could
    // have passed since). Their records stay, and the pass comes back.
    for (auto k = *next_send; k < sends->size(); ++k)
      work->keep[std::get<1>((*sends)[k])] = true;
    work->retry_soon = true;
    progress->outstanding -= sends->size() - *next_send;
    *next_send = sends->size();
    return;
  }
  auto [store, i, digest] = (*sends)[(*next_send)++];
  auto then = [=] { drop_chunk(self, generation, work); };
  self
    ->request(store, st.settings.request_timeout, apply_atom::value,
              work->chunk.keys[i], work->chunk.versions[i], digest)
    .then(
      [=](ok_atom) {
        auto& st = self->state;
        if (generation == st.generation) {
          ++st.sent;
          ++st.pass->sent;
        }
        send_next_merge(self, generation, work, sends, next_send, progress);
        settle_reply(self, generation, progress, then);
      },
      [=, i = i](caf::error& err) {
        // The owner's record changed (a write, a reap): this copy stays and
        // the pass comes back soon. The owner refuses the record itself (a
        // value above its limit): it stays until the next regular pass.
        if (is_kv_error(err, kv_errc::record_changed)) {
          work->keep[i] = true;
          work->retry_soon = true;
        } else if (is_kv_error(err, kv_errc::invalid_argument)
                   || is_kv_error(err, kv_errc::value_too_large)
                   || is_kv_error(err, kv_errc::key_too_large)) {
          work->keep[i] = true;
          warn(self, "an owner refused a record (" + describe(err)
                       + "); it stays on this node");
        } else if (!progress->failure) {
          progress->failure = "an owner did not take a record: "
                              + describe(err);
        }
        send_next_merge(self, generation, work, sends, next_send, progress);
        settle_reply(self, generation, progress, then);
      });
}

void send_missing(cleaner_pointer self, uint64_t generation,
                  std::shared_ptr<chunk_work> work,
                  std::vector<node_card> owners,
                  std::shared_ptr<std::vector<std::vector<uint64_t>>> theirs) {
  auto sends = std::make_shared<std::vector<merge_send>>();
  // Key by key, so each key's owners get it together.
  for (std::size_t i = 0; i < work->chunk.keys.size(); ++i)
    for (std::size_t o = 0; o < owners.size(); ++o) {
      auto digest = (*theirs)[o][i];
      if (work->keep[i] || digest == work->digests[i])
        continue;
      auto& stores = owners[o].stores;
      auto shard = store_shard_of(work->chunk.keys[i],
                                  static_cast<uint32_t>(stores.size()));
      sends->emplace_back(stores[shard], i, digest);
    }
  if (sends->empty())
    return drop_chunk(self, generation, work);
  auto progress = std::make_shared<stage>();
  // Every merge is sent, also after one failed (the chunk is retried whole
  // then), so the stage ends when the last reply is in.
  progress->outstanding = sends->size();
  auto next_send = std::make_shared<std::size_t>(0);
  for (std::size_t k = 0; k < std::min(max_merges_in_flight, sends->size());
       ++k)
    send_next_merge(self, generation, work, sends, next_send, progress);
}

// Second stage: the keys some owner lacks are read again from this node's
// own stores, and only those still exactly as scanned are sent. The reaper
// drops a non-owner's copy before the owners' tombstones, so a copy still
// here after the owners answered was read by them before any reap; one
// reaped since the scan is not sent back.
void recheck_own(cleaner_pointer self, uint64_t generation,
                 std::shared_ptr<chunk_work> work,
                 std::vector<node_card> owners,
                 std::shared_ptr<std::vector<std::vector<uint64_t>>> theirs) {
  auto& st = self->state;
  auto lacking = [&](std::size_t i) {
    if (work->keep[i])
      return false;
    for (std::size_t o = 0; o < owners.size(); ++o)
      if ((*theirs)[o][i] != work->digests[i])
        return true;
    return false;
  };
  auto batches = batches_by_shard(*work, st.stores.size(), lacking);
  auto next = [=] {
    work->checked_at = steady::now();
    send_missing(self, generation, work, owners, theirs);
  };
  if (batches.empty())
    return next();
  auto progress = std::make_shared<stage>();
  progress->outstanding = batches.size();
  auto unchanged = [work](const std::vector<std::size_t>& indices,
                          const std::vector<uint64_t>& digests,
                          const std::vector<uint32_t>&) {
    for (std::size_t j = 0; j < indices.size(); ++j)
      if (digests[j] != work->digests[indices[j]]) {
        work->keep[indices[j]] = true;
        work->retry_soon = true;
      }
  };
  for (auto& [shard, indices] : batches)
    ask_digests(self, generation, st.stores[shard], std::move(indices), work,
                progress, "this node's store", unchanged, next);
}

// First stage: every owner's digest of every key of the chunk.
void compare_with_owners(cleaner_pointer self, uint64_t generation,
                         std::shared_ptr<chunk_work> work,
                         std::vector<node_card> owners) {
  auto count = work->chunk.keys.size();
  auto theirs = std::make_shared<std::vector<std::vector<uint64_t>>>(
    owners.size(), std::vector<uint64_t>(count, 0));
  std::vector<std::tuple<std::size_t, replica_store_actor,
                         std::vector<std::size_t>>>
    asks;
  for (std::size_t o = 0; o < owners.size(); ++o) {
    auto& stores = owners[o].stores;
    for (auto& [shard, indices] :
         batches_by_shard(*work, stores.size(), [](std::size_t) { return true; }))
      asks.emplace_back(o, stores[shard], std::move(indices));
  }
  auto progress = std::make_shared<stage>();
  progress->outstanding = asks.size();
  auto next = [=] { recheck_own(self, generation, work, owners, theirs); };
  for (auto& [o, store, indices] : asks) {
    auto record = [work, theirs, o = o](const std::vector<std::size_t>& indices,
                                        const std::vector<uint64_t>& digests,
                                        const std::vector<uint32_t>& lost) {
      for (std::size_t j = 0; j < indices.size(); ++j)
        (*theirs)[o][indices[j]] = digests[j];
      // The owner's record is unreadable: this copy may be what repairs
      // it, so it stays until a later pass.
      for (auto j : lost)
        if (j < indices.size()) {
          work->keep[indices[j]] = true;
          work->retry_soon = true;
        }
    };
    ask_digests(self, generation, store, std::move(indices), work, progress,
                "an owner", record, next);
  }
}

// Ends the pass: a complete one is not repeated before `every`, an
// incomplete one (an owner not up, a record kept) is tried again after
// `settle`. Never starts the next pass directly.
void end_pass(cleaner_pointer self) {
  auto& st = self->state;
  auto& pass = *st.pass;
  if (pass.dropped > 0 || pass.sent > 0)
    log_line(log_level::info,
             "partition cleanup: dropped " + std::to_string(pass.dropped)
               + " record(s) of partitions this node no longer holds ("
               + std::to_string(pass.sent)
               + " sibling set(s) an owner lacked were sent to it first)");
  if (pass.incomplete) {
    st.next_pass = steady::now() + st.settings.settle;
  } else {
    ++st.passes;
    st.next_pass = steady::now() + st.settings.every;
  }
  st.pass.reset();
  st.failures = 0;
  later(self, std::chrono::duration_cast<milliseconds>(st.next_pass
                                                       - steady::now()));
}

// Reads the next chunk of the pass's first partition from this node's
// stores (one scan reads every store's records: they share a table).
void next_chunk(cleaner_pointer self) {
  auto& st = self->state;
  if (st.waiting || !st.pass)
    return;
  auto now = steady::now();
  if (now < st.paused_until)
    return later(self, std::chrono::duration_cast<milliseconds>(
                         st.paused_until - now)
                         + milliseconds{1});
  auto& pass = *st.pass;
  std::optional<std::vector<node_card>> owners;
  while (!pass.partitions.empty()
         && !(owners = st.owners_of(pass.partitions.front()))) {
    pass.incomplete = true;
    pass.partitions.pop_front();
    pass.resume_after.clear();
    st.failures = 0;
  }
  if (pass.partitions.empty())
    return end_pass(self);
  auto p = pass.partitions.front();
  auto& map = st.ring->current();
  auto first = map.first_position(p);
  auto last = p + 1 < map.partition_count() ? map.first_position(p + 1) - 1
                                            : ~uint64_t{0};
  auto generation = st.generation;
  st.waiting = true;
  st.pacer.started(steady::now());
  self
    ->request(st.stores.front(), st.settings.request_timeout,
              scan_atom::value, first, last, pass.resume_after,
              st.settings.chunk_bytes)
    .then(
      [=, owners = std::move(*owners)](partition_chunk& chunk) {
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
        compare_with_owners(self, generation, work, owners);
      },
      [=](caf::error& err) {
        if (generation == self->state.generation)
          retry_chunk(self, "cannot read this node's store: "
                              + describe(err));
      });
}

// Starts a pass when one is due on a settled ring, goes on with the one
// under way, or waits.
void consider(cleaner_pointer self) {
  auto& st = self->state;
  if (!st.may_clean()) {
    if (st.pass || st.waiting)
      st.abandon_pass();
    return;
  }
  if (st.pass)
    return next_chunk(self);
  auto now = steady::now();
  if (st.settled_version != st.ring->epoch()) {
    st.settled_version = st.ring->epoch();
    st.next_pass = now + st.settings.settle;
  }
  if (now < st.next_pass)
    return later(self, std::chrono::duration_cast<milliseconds>(
                         st.next_pass - now));
  cleanup_pass pass;
  pass.ring_version = st.ring->epoch();
  pass.partitions = st.not_held();
  st.pass = std::move(pass);
  next_chunk(self);
}

partition_cleaner_actor::behavior_type
partition_cleaner(cleaner_pointer self, partition_cleaner_settings settings,
                  std::vector<replica_store_actor> stores) {
  self->state.pacer = transfer_pacer{settings.max_bytes_per_s,
                                     settings.max_busy_share};
  self->state.settings = std::move(settings);
  self->state.stores = std::move(stores);
  return {
    [=](ring_atom, ring_snapshot& next) {
      auto& st = self->state;
      // A pass belongs to one ring version.
      if (next->epoch() != st.ring->epoch() && (st.pass || st.waiting))
        st.abandon_pass();
      st.ring = std::move(next);
      consider(self);
    },
    [=](members_atom, std::vector<node_card>& cards) {
      self->state.cards = cards_by_id(std::move(cards));
    },
    [=](tick_atom, uint64_t seq) {
      auto& st = self->state;
      // Only the cleaner's own, latest timer: a stray or superseded tick
      // would start a second chain of requests.
      if (self->current_sender() != self->ctrl() || seq != st.tick_seq)
        return;
      st.tick_due.reset();
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
