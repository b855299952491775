#include "actors/antientropy/tombstone_reaper.hpp"

#include <algorithm>
#include <deque>
#include <iterator>
#include <map>
#include <memory>
#include <unordered_set>
#include <optional>
#include <utility>

#include <caf/all.hpp>

#include "actors/antientropy/merkle_tree.hpp"
#include "actors/antientropy/reaping.hpp"
#include "actors/key_hash.hpp"
#include "actors/log.hpp"
#include "actors/ring/claimant.hpp"
#include "messages/caf_types.hpp"

namespace kv {

namespace {

using steady = std::chrono::steady_clock;

// Candidate tombstones of one partition, asked about together.
struct reap_batch {
  uint32_t partition = 0;
  uint64_t ring_generation = 0;
  steady::time_point agreed_at{};
  partition_chunk tombstones; // keys and their sibling sets

  std::vector<uint64_t> digests() const {
    std::vector<uint64_t> out;
    for (std::size_t i = 0; i < tombstones.keys.size(); ++i)
      out.push_back(key_digest(tombstones.keys[i], tombstones.versions[i]));
    return out;
  }

  reap_batch only(const std::vector<uint32_t>& indices) const {
    reap_batch out;
    out.partition = partition;
    out.ring_generation = ring_generation;
    out.agreed_at = agreed_at;
    for (auto i : indices) {
      out.tombstones.keys.push_back(tombstones.keys[i]);
      out.tombstones.versions.push_back(tombstones.versions[i]);
    }
    return out;
  }
};

// One step of a cycle.
struct reap_job {
  enum class kind {
    confirm, // ask again about a batch agreed last cycle, reap what holds
    scan,    // read a page of one local store's candidates of a partition
    ask,     // ask about a batch of fresh candidates (from a scan)
  };
  kind what = kind::scan;
  reap_batch batch;      // confirm, ask
  uint32_t partition = 0; // scan
  std::size_t store = 0;  // scan
};

struct reaper_state {
  tombstone_reaper_settings settings;
  std::vector<replica_store_actor> stores;
  ring_snapshot ring = std::make_shared<const kv::ring>();
  std::map<std::string, node_card> cards;
  reap_status status;
  std::vector<reap_batch> pending; // agreed last cycle
  std::vector<reap_batch> agreed;  // agreed this cycle
  std::size_t agreed_keys = 0;
  std::deque<reap_job> jobs;
  // Where the next page of (partition, local store) starts.
  std::map<std::pair<uint32_t, std::size_t>, std::string> cursors;
  uint64_t cycle_ring = 0;
  // Bumped by every new ring: a batch asked about under one is reaped only
  // under the same (versions alone repeat across clusters: a node that
  // joined another cluster may hold an equal version of another ring).
  uint64_t ring_generation = 0;
  std::size_t running = 0;                // jobs in flight
  bool pumping = false;                   // pump() is on the stack
  bool pump_again = false;                // a job ended meanwhile
  // Keys in `pending` or `agreed`: a later page of the same cycle, or the
  // next cycle's scan, does not ask about them again.
  std::unordered_set<std::string> queued;
  std::optional<std::string> stop_reason; // the cycle ends early, blocked
  bool in_cycle = false;
  bool tick_pending = false;

  static inline const char* name = "tombstone_reaper";

  std::optional<std::string> blocker() const {
    std::vector<member_info> members;
    for (auto& [id, card] : cards)
      members.push_back(card.info);
    return reap_blocker(*ring, members, settings.node_id);
  }

  // The stores of node `id` (this node's own, or its card's; empty if it
  // has none).
  std::vector<replica_store_actor> stores_of(const std::string& id) const {
    if (id == settings.node_id)
      return stores;
    auto i = cards.find(id);
    return i == cards.end() ? std::vector<replica_store_actor>{}
                            : i->second.stores;
  }

  // Every member that may hold a copy or a hint: all but those gone for
  // good.
  std::vector<std::string> holders() const {
    std::vector<std::string> ids;
    for (auto& [id, card] : cards)
      if (id != settings.node_id && !gone_for_good(*ring, card.info))
        ids.push_back(id);
    ids.push_back(settings.node_id);
    return ids;
  }
};

using reaper_pointer
  = tombstone_reaper_node_actor::stateful_pointer<reaper_state>;

void next_job(reaper_pointer self);
void pump_once(reaper_pointer self);

std::chrono::milliseconds settle_time(const tombstone_reaper_settings& s) {
  return std::max(s.interval, s.settle);
}

void schedule_cycle(reaper_pointer self) {
  auto& st = self->state;
  if (st.tick_pending || st.settings.interval.count() <= 0)
    return;
  st.tick_pending = true;
  self->delayed_send(self, st.settings.interval, tick_atom::value);
}

void end_cycle(reaper_pointer self, std::optional<std::string> blocked) {
  auto& st = self->state;
  st.in_cycle = false;
  st.jobs.clear();
  if (blocked) {
    // Whatever was agreed may no longer hold after the change.
    st.status.state = "blocked: " + *blocked;
    st.agreed.clear();
    st.pending.clear();
    st.cursors.clear();
    st.queued.clear();
  } else {
    st.status.state = "idle";
    st.pending = std::move(st.agreed);
    st.agreed.clear();
  }
  st.agreed_keys = 0;
  st.status.pending = 0;
  for (auto& batch : st.pending)
    st.status.pending += batch.tombstones.keys.size();
  ++st.status.cycles;
  st.status.last_cycle_ms = wall_clock_ms();
  schedule_cycle(self);
}

// The batch's keys split by the store that serves each on a node with
// `count` stores; `indices[s][j]` is the batch index of part s's key j.
struct store_split {
  std::vector<partition_chunk> parts;
  std::vector<std::vector<uint32_t>> indices;
};

store_split split_by_store(const reap_batch& batch, std::size_t count) {
  store_split out;
  out.parts.resize(count);
  out.indices.resize(count);
  auto& keys = batch.tombstones.keys;
  for (uint32_t i = 0; i < keys.size(); ++i) {
    auto s = store_shard_of(keys[i], static_cast<uint32_t>(count));
    out.parts[s].keys.push_back(keys[i]);
    out.parts[s].versions.push_back(batch.tombstones.versions[i]);
    out.indices[s].push_back(i);
  }
  return out;
}

// Asks every replica of the batch's partition for its digests of the keys
// (each key of the store that serves it, which alone may set an unreadable
// record aside) and every holder's hint buffer whether it holds hints for
// them; then calls `done` with the indices of the keys still agreed.
template <class Done>
void check(reaper_pointer self, const reap_batch& batch, Done done) {
  auto& st = self->state;
  auto agreement = std::make_shared<reap_agreement>(batch.digests());
  auto outstanding = std::make_shared<std::size_t>(1);
  auto answered = [=] {
    if (--*outstanding == 0)
      done(agreement->agreed());
  };
  auto timeout = st.settings.request_timeout;
  auto size = batch.tombstones.keys.size();
  for (auto& id : st.ring->current().replica_ids(batch.partition)) {
    auto stores = st.stores_of(id);
    if (stores.empty()) {
      agreement->no_answer();
      continue;
    }
    // One replica's answer, assembled from its stores'.
    struct replica_answer {
      std::vector<uint64_t> digests;
      std::vector<uint32_t> lost;
      std::size_t pending = 0;
      bool failed = false;
    };
    auto replica = std::make_shared<replica_answer>();
    replica->digests.assign(size, 0);
    auto split = split_by_store(batch, stores.size());
    auto indices = std::make_shared<std::vector<std::vector<uint32_t>>>(
      std::move(split.indices));
    for (std::size_t s = 0; s < stores.size(); ++s) {
      if (split.parts[s].keys.empty())
        continue;
      ++replica->pending;
      ++*outstanding;
      auto part_done = [=] {
        if (--replica->pending == 0) {
          if (replica->failed)
            agreement->no_answer();
          else
            agreement->replica_answer(replica->digests, replica->lost);
        }
        answered();
      };
      self
        ->request(stores[s], timeout, digest_atom::value,
                  std::move(split.parts[s].keys))
        .then(
          [=](std::vector<uint64_t>& digests, std::vector<uint32_t>& lost) {
            auto& at = (*indices)[s];
            if (digests.size() != at.size()) {
              replica->failed = true;
            } else {
              for (std::size_t j = 0; j < at.size(); ++j)
                replica->digests[at[j]] = digests[j];
              for (auto j : lost)
                if (j < at.size())
                  replica->lost.push_back(at[j]);
            }
            part_done();
          },
          [=](caf::error&) {
            replica->failed = true;
            part_done();
          });
    }
  }
  for (auto& id : st.holders()) {
    auto i = st.cards.find(id);
    if (i == st.cards.end() || !i->second.hints) {
      agreement->no_answer();
      continue;
    }
    ++*outstanding;
    self
      ->request(i->second.hints, timeout, hint_atom::value,
                batch.tombstones.keys)
      .then(
        [=](std::vector<uint32_t>& held) {
          agreement->disagree(held);
          answered();
        },
        [=](caf::error&) {
          agreement->no_answer();
          answered();
        });
  }
  answered();
}

// Sends the batch's reap to every store of the nodes `ids` (each key to the
// store that serves it there); `done(all answered ok, records dropped on
// this node)`.
template <class Done>
void reap_on(reaper_pointer self, const reap_batch& batch,
             const std::vector<std::string>& ids, Done done) {
  auto& st = self->state;
  struct tally {
    std::size_t outstanding = 1;
    bool ok = true;
    uint64_t dropped_here = 0;
  };
  auto counts = std::make_shared<tally>();
  auto answered = [=] {
    if (--counts->outstanding == 0)
      done(counts->ok, counts->dropped_here);
  };
  for (auto& id : ids) {
    auto stores = st.stores_of(id);
    if (stores.empty()) {
      counts->ok = false;
      continue;
    }
    auto by_store = split_by_store(batch, stores.size()).parts;
    bool here = id == st.settings.node_id;
    for (std::size_t s = 0; s < stores.size(); ++s) {
      if (by_store[s].keys.empty())
        continue;
      ++counts->outstanding;
      self
        ->request(stores[s], st.settings.request_timeout, reap_atom::value,
                  std::move(by_store[s]))
        .then(
          [=](uint32_t dropped) {
            if (here)
              counts->dropped_here += dropped;
            answered();
          },
          [=](caf::error&) {
            counts->ok = false;
            answered();
          });
    }
  }
  answered();
}

// Reaps an agreed batch: on every node that is not a replica first, then
// on the replicas, so no stale copy outlives the replicas' tombstones.
void reap(reaper_pointer self, reap_batch batch) {
  auto& st = self->state;
  auto replicas = st.ring->current().replica_ids(batch.partition);
  std::vector<std::string> others;
  for (auto& id : st.holders())
    if (std::find(replicas.begin(), replicas.end(), id) == replicas.end())
      others.push_back(id);
  auto shared = std::make_shared<reap_batch>(std::move(batch));
  reap_on(self, *shared, others, [=](bool ok, uint64_t) {
    // The replicas go last, and only while nothing changed meanwhile.
    auto& st = self->state;
    if (!ok || st.blocker() || shared->ring_generation != st.ring_generation) {
      self->state.status.kept += shared->tombstones.keys.size();
      return next_job(self);
    }
    reap_on(self, *shared, replicas, [=](bool, uint64_t dropped) {
      auto& status = self->state.status;
      auto keys = shared->tombstones.keys.size();
      status.reaped += dropped;
      status.kept += keys > dropped ? keys - dropped : 0;
      if (dropped > 0)
        log_line(log_level::info,
                 "reaping: partition " + std::to_string(shared->partition)
                   + ": " + std::to_string(dropped)
                   + " deleted keys dropped on every replica");
      next_job(self);
    });
  });
}

// A batch leaves `queued` once asked about for the last time.
void forget(reaper_state& st, const reap_batch& batch) {
  for (auto& key : batch.tombstones.keys)
    st.queued.erase(key);
}

void confirm(reaper_pointer self, reap_batch batch) {
  auto& st = self->state;
  if (batch.ring_generation != st.ring_generation) {
    forget(st, batch);
    return next_job(self);
  }
  if (steady::now() - batch.agreed_at < settle_time(st.settings)) {
    // Too soon to ask again: carried over to the next cycle.
    st.agreed_keys += batch.tombstones.keys.size();
    st.agreed.push_back(std::move(batch));
    return next_job(self);
  }
  auto shared = std::make_shared<reap_batch>(std::move(batch));
  check(self, *shared, [=](std::vector<uint32_t> agreed) {
    auto& st = self->state;
    forget(st, *shared);
    st.status.kept += shared->tombstones.keys.size() - agreed.size();
    // The world may have changed while the answers came.
    if (agreed.empty() || self->state.blocker()
        || shared->ring_generation != st.ring_generation)
      return next_job(self);
    reap(self, shared->only(agreed));
  });
}

// Reads the next page of candidates of (partition, store) and asks about
// them, a batch at a time.
void scan(reaper_pointer self, uint32_t partition, std::size_t store) {
  auto& st = self->state;
  if (st.agreed_keys >= st.settings.max_pending)
    return next_job(self);
  auto& map = st.ring->current();
  auto cursor = st.cursors[{partition, store}];
  auto grace = static_cast<uint64_t>(st.settings.grace.count());
  auto now = wall_clock_ms();
  self
    ->request(st.stores[store], st.settings.request_timeout,
              tombstones_atom::value, map.first_position(partition),
              map.last_position(partition), cursor,
              now > grace ? now - grace : uint64_t{0})
    .then(
      [=](partition_chunk& page) {
        auto& st = self->state;
        if (page.done)
          st.cursors.erase({partition, store});
        else
          st.cursors[{partition, store}] = page.resume_after;
        st.status.candidates += page.keys.size();
        auto version = st.ring_generation;
        // Batches of the page, asked about next, one after the other.
        std::size_t size = std::max<uint32_t>(st.settings.batch, 1);
        std::vector<reap_job> asks;
        // Keys agreed already wait for their confirmation.
        std::size_t fresh = 0;
        for (std::size_t i = 0; i < page.keys.size(); ++i)
          if (st.queued.count(page.keys[i]) == 0) {
            if (i != fresh) { // a self-move would empty the key
              page.keys[fresh] = std::move(page.keys[i]);
              page.versions[fresh] = std::move(page.versions[i]);
            }
            ++fresh;
          }
        page.keys.resize(fresh);
        page.versions.resize(fresh);
        for (std::size_t from = 0; from < page.keys.size(); from += size) {
          reap_job job;
          job.what = reap_job::kind::ask;
          job.batch.partition = partition;
          job.batch.ring_generation = version;
          auto to = std::min(page.keys.size(), from + size);
          for (auto i = from; i < to; ++i) {
            job.batch.tombstones.keys.push_back(std::move(page.keys[i]));
            job.batch.tombstones.versions.push_back(
              std::move(page.versions[i]));
          }
          asks.push_back(std::move(job));
        }
        st.jobs.insert(st.jobs.begin(), std::make_move_iterator(asks.begin()),
                       std::make_move_iterator(asks.end()));
        next_job(self);
      },
      [=](caf::error&) { next_job(self); });
}

// Asks about a fresh batch; the agreed keys wait for the next cycle.
void ask(reaper_pointer self, reap_batch batch) {
  auto shared = std::make_shared<reap_batch>(std::move(batch));
  check(self, *shared, [=](std::vector<uint32_t> agreed) {
    auto& st = self->state;
    if (!agreed.empty() && shared->ring_generation == st.ring_generation) {
      auto kept = shared->only(agreed);
      kept.agreed_at = steady::now();
      for (auto& key : kept.tombstones.keys)
        st.queued.insert(key);
      st.agreed_keys += kept.tombstones.keys.size();
      st.agreed.push_back(std::move(kept));
    }
    next_job(self);
  });
}

void launch(reaper_pointer self, reap_job job) {
  switch (job.what) {
    case reap_job::kind::confirm:
      return confirm(self, std::move(job.batch));
    case reap_job::kind::scan:
      return scan(self, job.partition, job.store);
    case reap_job::kind::ask:
      return ask(self, std::move(job.batch));
  }
}

// Starts jobs up to the bound; ends the cycle once none is left running.
// Called when a cycle starts and whenever a job ends.
void pump(reaper_pointer self) {
  auto& st = self->state;
  // Iterative: a job that ends at once calls back in here, and thousands of
  // batches carried over would otherwise nest as deep.
  if (st.pumping) {
    st.pump_again = true;
    return;
  }
  st.pumping = true;
  do {
    st.pump_again = false;
    pump_once(self);
  } while (st.pump_again);
  st.pumping = false;
  if (st.running == 0 && st.jobs.empty() && st.in_cycle)
    end_cycle(self, std::exchange(st.stop_reason, std::nullopt));
}

void pump_once(reaper_pointer self) {
  auto& st = self->state;
  if (!st.stop_reason) {
    if (auto blocked = st.blocker())
      st.stop_reason = blocked;
    else if (st.ring_generation != st.cycle_ring)
      st.stop_reason = std::string{"the ring changed during the cycle"};
  }
  if (st.stop_reason)
    st.jobs.clear();
  while (st.running < std::max<uint32_t>(st.settings.parallel_jobs, 1)
         && !st.jobs.empty()) {
    auto job = std::move(st.jobs.front());
    st.jobs.pop_front();
    ++st.running;
    launch(self, std::move(job));
  }
}

void next_job(reaper_pointer self) {
  --self->state.running;
  pump(self);
}

void start_cycle(reaper_pointer self) {
  auto& st = self->state;
  if (st.in_cycle)
    return;
  if (auto blocked = st.blocker())
    return end_cycle(self, blocked);
  st.in_cycle = true;
  st.stop_reason = std::nullopt;
  st.cycle_ring = st.ring_generation;
  st.status.state = "checking";
  st.status.candidates = 0;
  for (auto& batch : st.pending) {
    reap_job job;
    job.what = reap_job::kind::confirm;
    job.batch = std::move(batch);
    st.jobs.push_back(std::move(job));
  }
  st.pending.clear();
  auto& map = st.ring->current();
  for (uint32_t p = 0; p < map.partition_count(); ++p) {
    if (map.replica_ids(p).front() != st.settings.node_id)
      continue;
    for (std::size_t s = 0; s < st.stores.size(); ++s) {
      reap_job job;
      job.partition = p;
      job.store = s;
      st.jobs.push_back(std::move(job));
    }
  }
  pump(self);
}

tombstone_reaper_node_actor::behavior_type
tombstone_reaper(reaper_pointer self, tombstone_reaper_settings settings,
                 std::vector<replica_store_actor> stores) {
  self->state.settings = std::move(settings);
  self->state.stores = std::move(stores);
  self->state.status.state
    = self->state.settings.interval.count() > 0 ? "idle" : "off";
  schedule_cycle(self);
  return {
    [=](ring_atom, ring_snapshot& next) {
      auto& st = self->state;
      if (next->state() != st.ring->state())
        ++st.ring_generation;
      st.ring = std::move(next);
    },
    [=](members_atom, std::vector<node_card>& cards) {
      self->state.cards = cards_by_id(std::move(cards));
    },
    [=](tick_atom) {
      self->state.tick_pending = false;
      start_cycle(self);
    },
    [=](get_atom, reap_atom) { return self->state.status; },
  };
}

} // namespace

tombstone_reaper_node_actor spawn_tombstone_reaper(
  caf::actor_system& sys, tombstone_reaper_settings settings,
  std::vector<replica_store_actor> stores) {
  return sys.spawn(tombstone_reaper, std::move(settings), std::move(stores));
}

} // namespace kv
