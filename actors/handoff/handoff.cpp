#include "actors/handoff/handoff.hpp"
#include "actors/handoff/transfer_pacer.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <set>

#include <caf/all.hpp>

#include "actors/key_hash.hpp"
#include "actors/log.hpp"
#include "messages/caf_types.hpp"
#include "messages/validation.hpp"
#include "persistence/node_files.hpp"
#include "persistence/storage_error.hpp"

namespace kv {

namespace {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// One partition being copied: from each source in turn, chunk by chunk.
struct partition_copy {
  uint32_t partition = 0;
  std::vector<std::string> sources;
  std::size_t source = 0;   // index into sources
  std::string resume_after; // where the next scan of this source starts
};

// The sources of a partition as one word of the progress file: a resumed
// copy goes on only if it reads from exactly the same ones.
std::string sources_word(const std::vector<std::string>& sources) {
  std::string word;
  for (auto& id : sources)
    word += (word.empty() ? "" : ",") + id;
  return word;
}

// Stored keys longer than this are not saved as resume points (the file's
// words are bounded; hex doubles the size).
constexpr std::size_t max_saved_resume_bytes = 100;
constexpr std::size_t max_saved_sources_chars = 200;

// Names a ring change beyond its number: rings of two clusters, or of two
// claimants that tied, may share a transition number.
std::string change_name(const ring_state& r) {
  std::string target;
  for (auto& id : r.next.ids)
    target += id + "/";
  for (auto slot : r.next.slots)
    target += std::to_string(slot) + ",";
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx",
                static_cast<unsigned long long>(stable_hash(target)));
  return (r.cluster.empty() ? std::string{"-"} : r.cluster) + "/" + r.claimant
         + "/" + hash;
}

struct handoff_state {
  handoff_settings settings;
  std::vector<replica_store_actor> stores;
  ring_snapshot ring = std::make_shared<const kv::ring>();
  std::map<std::string, node_card> cards;
  uint64_t transition = 0; // the one being worked on (0: none)
  std::string change;      // its change_name
  std::string cluster;     // of the ring last seen
  const kv::ring* named_ring = nullptr; // the ring `ring_change` names
  std::string ring_change;
  std::deque<uint32_t> todo;
  uint64_t total = 0;
  uint64_t copied = 0;
  uint64_t bytes = 0;
  uint64_t skipped = 0;    // records this node's store refused
  uint64_t reported = 0;   // last transition reported to the gossiper
  std::optional<partition_copy> busy;
  // Bumped whenever the work is reset: answers for older work are dropped.
  uint64_t generation = 0;
  bool tick_pending = false;
  bool waiting = false; // a scan or its merges are outstanding
  transfer_pacer pacer{1, 1.0}; // replaced with the settings at spawn
  log_throttle warnings;
  // The partitions of the transition copied whole, and where a copy that
  // was under way when the node stopped goes on (from the saved progress).
  std::vector<uint32_t> done;
  std::optional<handoff_progress> resume;
  steady::time_point last_saved;
  bool progress_cleared = false; // the file is gone (no transition)

  static inline const char* name = "handoff";

  // Saves how far the copy got, at most every `save_every`.
  void save_progress() {
    if (settings.state_dir.empty() || transition == 0)
      return;
    auto at = steady::now();
    if (at - last_saved < settings.save_every)
      return;
    last_saved = at;
    handoff_progress progress;
    progress.transition = transition;
    progress.change = change;
    progress.copied = done;
    auto sources = busy ? sources_word(busy->sources) : std::string{};
    if (busy && busy->source < busy->sources.size()
        && sources.size() <= max_saved_sources_chars) {
      progress.partial = busy->partition;
      progress.source_index = static_cast<uint32_t>(busy->source);
      progress.source = std::move(sources);
      // A long key would not fit the file's words: the partition then
      // starts again from that source's first record.
      if (busy->resume_after.size() <= max_saved_resume_bytes)
        progress.resume_after = busy->resume_after;
    }
    try {
      save_handoff_progress(settings.state_dir, progress);
    } catch (const storage_error& e) {
      // Only a shortcut is lost: a restart copies more again.
      log_line(log_level::warning,
               std::string{"handoff: cannot save progress: "} + e.what());
    }
  }

  // Takes the saved progress of `transition` out of `todo`.
  void take_saved_progress() {
    resume.reset();
    if (settings.state_dir.empty())
      return;
    auto saved = load_handoff_progress(settings.state_dir);
    if (!saved || saved->transition != transition || saved->change != change)
      return;
    std::set<uint32_t> copied_before(saved->copied.begin(),
                                     saved->copied.end());
    std::deque<uint32_t> rest;
    for (auto p : todo)
      if (copied_before.count(p))
        done.push_back(p);
      else
        rest.push_back(p);
    todo = std::move(rest);
    copied = done.size();
    if (saved->partial)
      resume = std::move(saved);
    log_line(log_level::info,
             "handoff: ring change " + std::to_string(transition)
               + ": going on from saved progress ("
               + std::to_string(copied) + " partition(s) already copied)");
  }

  const node_card* usable(const std::string& id) const {
    auto i = cards.find(id);
    if (i == cards.end() || id == settings.node_id || i->second.stores.empty()
        || (i->second.info.status != member_status::up
            && i->second.info.status != member_status::leaving))
      return nullptr;
    return &i->second;
  }

  // Every member of the ring (but removed ones) routes its writes with the
  // ring of `transition` (its card says so): from then on every write to a
  // partition taken over reaches this node too, so a copy made afterwards
  // misses none.
  bool everyone_routes(uint64_t transition) const {
    auto& state = ring->state();
    // Every node that is up coordinates requests, on the ring or not.
    for (auto& [id, card] : cards)
      if ((card.info.status == member_status::up
           || card.info.status == member_status::leaving)
          && card.info.ring_epoch < transition)
        return false;
    for (auto* a : {&state.current, &state.next})
      for (auto& id : a->ids) {
        auto removed = std::any_of(state.removed.begin(), state.removed.end(),
                                   [&](const std::string& r) {
                                     return r.rfind(id + "/", 0) == 0;
                                   });
        if (removed)
          continue;
        auto i = cards.find(id);
        if (i == cards.end() || i->second.info.ring_epoch < transition)
          return false;
      }
    return true;
  }

  // Where partition p's records come from: the nodes that give it up, if
  // all of them are up (they hold every write acknowledged before the
  // change); else every live current owner (a dead or removed owner's
  // share survives on the others).
  std::vector<std::string> sources_for(uint32_t p) const {
    auto& now = ring->current();
    auto& after = ring->next();
    std::vector<std::string> current_ids, replaced;
    for (uint32_t i = 0; i < now.list_length(); ++i)
      current_ids.push_back(now.members()[now.replicas_of(p)[i]].node_id);
    for (auto& id : current_ids) {
      bool stays = false;
      for (uint32_t i = 0; i < after.list_length(); ++i)
        stays |= after.members()[after.replicas_of(p)[i]].node_id == id;
      if (!stays)
        replaced.push_back(id);
    }
    bool all_up = !replaced.empty()
                  && std::all_of(replaced.begin(), replaced.end(),
                                 [&](auto& id) { return usable(id) != nullptr; });
    if (all_up)
      return replaced;
    std::vector<std::string> result;
    for (auto& id : current_ids)
      if (usable(id))
        result.push_back(id);
    return result;
  }
};

using handoff_pointer = handoff_node_actor::stateful_pointer<handoff_state>;

void step(handoff_pointer self);

void later(handoff_pointer self, milliseconds wait) {
  auto& st = self->state;
  if (st.tick_pending)
    return;
  st.tick_pending = true;
  self->delayed_send(self, wait, tick_atom::value);
}

void warn(handoff_pointer self, const std::string& what) {
  self->state.warnings.line(log_level::warning, "handoff: " + what);
}

// A failed step: the partition starts again from its first source later.
void failed(handoff_pointer self, uint64_t generation, const std::string& why) {
  auto& st = self->state;
  if (generation != st.generation)
    return;
  st.busy.reset();
  st.waiting = false;
  warn(self, why + "; retrying");
  later(self, st.settings.retry);
}

void scan_next(handoff_pointer self);

// Merges one chunk into this node's stores, then asks for the next.
void merge_chunk(handoff_pointer self, uint64_t generation,
                 partition_chunk chunk) {
  auto& st = self->state;
  // Checked against the wire's bound, not this node's value limit: a
  // record this node's store refuses is skipped below, not retried forever.
  if (auto problem = chunk_problem(chunk, max_chunk_bytes)) {
    failed(self, generation, "a chunk from a source was refused: " + *problem);
    return;
  }
  std::size_t chunk_bytes = 0;
  for (std::size_t i = 0; i < chunk.keys.size(); ++i) {
    chunk_bytes += chunk.keys[i].size();
    for (auto& v : chunk.versions[i])
      chunk_bytes += v.value.size() + 64;
  }
  auto outstanding = std::make_shared<std::size_t>(chunk.keys.size());
  auto ok = std::make_shared<bool>(true);
  auto finish = [=, done = chunk.done,
                 resume = chunk.resume_after](bool success) mutable {
    auto& st = self->state;
    *ok &= success;
    if (--*outstanding > 0 || generation != st.generation)
      return;
    if (!*ok) {
      failed(self, generation, "a merge into this node's store failed");
      return;
    }
    st.bytes += chunk_bytes;
    st.waiting = false;
    auto& copy = *st.busy;
    if (done) {
      ++copy.source;
      copy.resume_after.clear();
    } else {
      copy.resume_after = resume;
    }
    st.save_progress();
    auto pause = st.pacer.finished(chunk_bytes, steady::now());
    if (pause.count() > 0)
      later(self, pause);
    else
      scan_next(self);
  };
  if (chunk.keys.empty()) {
    ++*outstanding;
    finish(true);
    return;
  }
  for (std::size_t i = 0; i < chunk.keys.size(); ++i) {
    auto& key = chunk.keys[i];
    auto& store = st.stores[store_shard_of(
      key, static_cast<uint32_t>(st.stores.size()))];
    self
      ->request(store, st.settings.request_timeout, apply_atom::value, key,
                std::move(chunk.versions[i]))
      .then([=](ok_atom) mutable { finish(true); },
            [=](caf::error& err) mutable {
              // This node refuses the record itself (a value above its own
              // limit): retrying cannot help. It stays on the other
              // replicas; the operator hears of it.
              if (is_kv_error(err, kv_errc::invalid_argument)
                  || is_kv_error(err, kv_errc::value_too_large)
                  || is_kv_error(err, kv_errc::key_too_large)) {
                ++self->state.skipped;
                warn(self, "a record was refused by this node's store ("
                             + describe(err) + "); "
                             + std::to_string(self->state.skipped)
                             + " skipped so far");
                finish(true);
                return;
              }
              finish(false);
            });
  }
}

// The next scan of the partition being copied, or on to the next partition.
void scan_next(handoff_pointer self) {
  auto& st = self->state;
  if (!st.busy)
    return step(self);
  auto& copy = *st.busy;
  if (copy.source >= copy.sources.size()) {
    st.done.push_back(copy.partition);
    st.busy.reset();
    st.todo.pop_front();
    ++st.copied;
    st.save_progress();
    return step(self);
  }
  auto* card = st.usable(copy.sources[copy.source]);
  if (card == nullptr) {
    failed(self, st.generation,
           "source " + copy.sources[copy.source] + " is not up");
    return;
  }
  auto& map = st.ring->current();
  auto first = map.first_position(copy.partition);
  auto last = copy.partition + 1 < map.partition_count()
                ? map.first_position(copy.partition + 1) - 1
                : ~uint64_t{0};
  auto generation = st.generation;
  auto source = copy.sources[copy.source];
  st.waiting = true;
  st.pacer.started(steady::now());
  self
    ->request(card->stores.front(), st.settings.request_timeout,
              scan_atom::value, first, last, copy.resume_after,
              st.settings.chunk_bytes)
    .then(
      [=](partition_chunk& chunk) {
        if (generation == self->state.generation)
          merge_chunk(self, generation, std::move(chunk));
      },
      [=](caf::error& err) {
        failed(self, generation,
               "cannot read a partition from " + source + ": "
                 + describe(err));
      });
}

// Re-reads the ring: starts a new transition's work, copies the next
// partition, or reports the transition complete.
void step(handoff_pointer self) {
  auto& st = self->state;
  auto& r = *st.ring;
  if (r.state().cluster != st.cluster) {
    // This node joined another cluster: what it reported meant its old one.
    st.cluster = r.state().cluster;
    st.reported = 0;
  }
  if (!r.in_transition()) {
    if (st.transition != 0) {
      st.transition = 0;
      st.todo.clear();
      st.done.clear();
      st.resume.reset();
      st.busy.reset();
      st.waiting = false;
      ++st.generation;
    }
    if (!st.settings.state_dir.empty() && !st.progress_cleared) {
      clear_handoff_progress(st.settings.state_dir);
      st.progress_cleared = true;
    }
    return;
  }
  if (st.named_ring != st.ring.get()) {
    st.named_ring = st.ring.get();
    st.ring_change = change_name(r.state());
  }
  if (r.state().transition != st.transition || st.ring_change != st.change) {
    st.transition = r.state().transition;
    st.change = st.ring_change;
    auto incoming = r.incoming(st.settings.node_id);
    st.todo.assign(incoming.begin(), incoming.end());
    st.total = incoming.size();
    st.copied = 0;
    st.bytes = 0;
    st.done.clear();
    st.busy.reset();
    st.waiting = false;
    ++st.generation;
    st.progress_cleared = false;
    st.take_saved_progress();
    if (!incoming.empty())
      log_line(log_level::info,
               "handoff: taking over " + std::to_string(incoming.size())
                 + " partition(s) for ring change "
                 + std::to_string(st.transition));
  }
  if (st.busy)
    return;
  if (!st.todo.empty() && !st.everyone_routes(st.transition))
    return later(self, st.settings.retry);
  if (st.todo.empty()) {
    if (st.reported != st.transition && st.total > 0) {
      auto own = st.cards.find(st.settings.node_id);
      if (own == st.cards.end() || !own->second.gossiper)
        return later(self, st.settings.retry);
      log_line(log_level::info,
               "handoff: ring change " + std::to_string(st.transition)
                 + " copied (" + std::to_string(st.copied) + " partition(s), "
                 + std::to_string(st.bytes) + " bytes)");
      self->send(own->second.gossiper, handoff_atom::value, st.transition);
      st.reported = st.transition;
    } else if (st.total == 0 && st.reported != st.transition) {
      // Nothing to copy here: nothing to report either (not a receiver).
      st.reported = st.transition;
    }
    return;
  }
  auto p = st.todo.front();
  auto sources = st.sources_for(p);
  if (sources.empty()) {
    warn(self, "no live owner of partition " + std::to_string(p)
                 + " to copy it from; retrying");
    return later(self, st.settings.retry);
  }
  st.busy = partition_copy{p, std::move(sources), 0, {}};
  if (st.resume && *st.resume->partial == p) {
    auto& saved = *st.resume;
    if (saved.source_index < st.busy->sources.size()
        && sources_word(st.busy->sources) == saved.source) {
      st.busy->source = saved.source_index;
      st.busy->resume_after = saved.resume_after;
    }
    st.resume.reset();
  }
  scan_next(self);
}

handoff_node_actor::behavior_type handoff(handoff_pointer self,
                                          handoff_settings settings,
                                          std::vector<replica_store_actor> stores) {
  self->state.pacer = transfer_pacer{settings.max_bytes_per_s,
                                     settings.max_busy_share};
  self->state.settings = std::move(settings);
  self->state.stores = std::move(stores);
  return {
    [=](ring_atom, ring_snapshot& next) {
      self->state.ring = std::move(next);
      step(self);
    },
    [=](members_atom, std::vector<node_card>& cards) {
      self->state.cards = cards_by_id(std::move(cards));
      step(self);
    },
    [=](tick_atom) {
      auto& st = self->state;
      st.tick_pending = false;
      if (st.waiting)
        return;
      if (st.busy)
        scan_next(self);
      else
        step(self);
    },
    [=](get_atom, handoff_atom) {
      auto& st = self->state;
      return caf::make_result(st.transition, st.total, st.copied, st.bytes);
    },
  };
}

} // namespace

handoff_node_actor spawn_handoff(caf::actor_system& sys,
                                 handoff_settings settings,
                                 std::vector<replica_store_actor> stores) {
  return sys.spawn(handoff, std::move(settings), std::move(stores));
}

} // namespace kv
