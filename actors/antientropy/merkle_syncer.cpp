#include "actors/antientropy/merkle_syncer.hpp"

#include <algorithm>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/antientropy/merkle_tree.hpp"
#include "actors/key_hash.hpp"
#include "actors/log.hpp"
#include "messages/caf_types.hpp"
#include "messages/validation.hpp"

namespace kv {

namespace {

// The exchange in progress: one partition, one peer.
struct exchange {
  uint64_t id = 0;
  uint32_t partition = 0;
  std::string peer;
  uint64_t first = 0;
  uint64_t last = 0;
  std::vector<replica_store_actor> remote; // the peer's stores
  std::vector<uint32_t> segments;          // differing leaves
  std::vector<std::string> keys;           // differing keys
  std::size_t next_key = 0;
  std::size_t keys_pending = 0;
  uint64_t bytes = 0;        // everything below, and versions
  uint64_t digest_bytes = 0; // tree hashes and key digests
  uint64_t repaired = 0;
  bool forced = false;
};

struct syncer_state {
  merkle_syncer_settings settings;
  std::vector<replica_store_actor> stores;
  ring_snapshot ring = std::make_shared<const kv::ring>();
  std::map<std::string, node_card> cards;
  std::map<uint32_t, aae_partition> status;
  std::deque<std::pair<uint32_t, std::string>> forced;
  std::unordered_map<uint32_t, uint32_t> turns; // rotates the peer
  uint32_t next_partition = 0;
  std::optional<exchange> busy;
  uint64_t next_id = 0;
  bool tick_pending = false;
  std::chrono::steady_clock::time_point last_warning;

  static inline const char* name = "merkle_syncer";

  const node_card* usable(const std::string& id) const {
    auto i = cards.find(id);
    if (i == cards.end() || id == settings.node_id || i->second.stores.empty()
        || (i->second.info.status != member_status::up
            && i->second.info.status != member_status::leaving))
      return nullptr;
    return &i->second;
  }

  // The replicas of p now, or nothing when this node is not one of them.
  std::vector<std::string> replicas(uint32_t p) const {
    auto& map = ring->current();
    if (map.empty() || p >= map.partition_count())
      return {};
    std::vector<std::string> ids;
    bool mine = false;
    for (uint32_t i = 0; i < map.list_length(); ++i) {
      auto& id = map.members()[map.replicas_of(p)[i]].node_id;
      mine |= id == settings.node_id;
      ids.push_back(id);
    }
    return mine ? ids : std::vector<std::string>{};
  }

  std::vector<std::string> live_peers(uint32_t p) const {
    std::vector<std::string> result;
    for (auto& id : replicas(p))
      if (usable(id))
        result.push_back(id);
    return result;
  }
};

using syncer_pointer
  = merkle_syncer_node_actor::stateful_pointer<syncer_state>;

bool current(syncer_pointer self, uint64_t id) {
  return self->state.busy && self->state.busy->id == id;
}

// Schedules the next exchange: forced ones back to back (but for a short
// pause when the last one met a tree being built), others every interval.
void later(syncer_pointer self, bool building = false) {
  auto& st = self->state;
  auto off = st.settings.interval.count() <= 0;
  if (st.tick_pending || (off && st.forced.empty()))
    return;
  st.tick_pending = true;
  auto wait = !st.forced.empty() ? std::chrono::milliseconds{building ? 10 : 0}
                                 : st.settings.interval;
  if (wait.count() == 0)
    self->send(self, tick_atom::value);
  else
    self->delayed_send(self, wait, tick_atom::value);
}

void finish(syncer_pointer self, const std::string& tree_state) {
  auto& st = self->state;
  auto& ex = *st.busy;
  auto& row = st.status[ex.partition];
  row.partition = ex.partition;
  row.peer = ex.peer;
  row.tree = tree_state;
  if (tree_state == "ready") {
    row.last_exchange_ms = wall_clock_ms();
    ++row.exchanges;
  }
  row.keys_repaired += ex.repaired;
  row.bytes += ex.bytes;
  row.digest_bytes += ex.digest_bytes;
  if (ex.repaired > 0)
    log_line(log_level::info,
             "anti-entropy: partition " + std::to_string(ex.partition)
               + " with " + ex.peer + ": " + std::to_string(ex.repaired)
               + " keys repaired");
  st.busy.reset();
  later(self, tree_state == "building");
}

void failed(syncer_pointer self, const caf::error& why) {
  // A tree being built is not a failure: the exchange comes round again
  // (a forced one too, which goes back in its queue).
  if (is_kv_error(why, kv_errc::unavailable)) {
    auto& ex = *self->state.busy;
    if (ex.forced)
      self->state.forced.emplace_back(ex.partition, ex.peer);
    return finish(self, "building");
  }
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  if (now - st.last_warning >= std::chrono::seconds{10}) {
    st.last_warning = now;
    log_line(log_level::info, "anti-entropy: an exchange with "
                                + st.busy->peer + " failed: " + describe(why)
                                + " (next warning in 10 s at the earliest)");
  }
  finish(self, "failed");
}

// The XOR of every store's answer to one tree question: the node's tree.
struct tree_answer {
  std::vector<uint64_t> hashes;
  caf::error error;
  std::size_t pending = 0;
};

template <class Done>
void ask_tree(syncer_pointer self, const std::vector<replica_store_actor>& stores,
              uint32_t level, const std::vector<uint32_t>& indices,
              std::shared_ptr<tree_answer> answer, Done done) {
  auto& ex = *self->state.busy;
  answer->hashes.assign(indices.size(), 0);
  answer->pending = stores.size();
  auto one_done = [=] {
    if (--answer->pending == 0)
      done();
  };
  for (auto& store : stores)
    self
      ->request(store, self->state.settings.request_timeout, tree_atom::value,
                ex.first, ex.last, level, indices)
      .then(
        [=](std::vector<uint64_t>& hashes) {
          if (hashes.size() != answer->hashes.size())
            answer->error = make_kv_error(kv_errc::invalid_argument,
                                          "a tree answer of the wrong size");
          else
            for (std::size_t i = 0; i < hashes.size(); ++i)
              answer->hashes[i] ^= hashes[i];
          one_done();
        },
        [=](caf::error& err) {
          answer->error = std::move(err);
          one_done();
        });
}

void compare_segments(syncer_pointer self, uint64_t id);

// Compares the nodes `frontier` at `level` on both sides and goes down the
// ones that differ.
void compare_level(syncer_pointer self, uint64_t id, uint32_t level,
                   std::vector<uint32_t> frontier) {
  auto mine = std::make_shared<tree_answer>();
  auto theirs = std::make_shared<tree_answer>();
  auto both = std::make_shared<int>(2);
  auto compared = [=] {
    if (--*both > 0 || !current(self, id))
      return;
    if (mine->error)
      return failed(self, mine->error);
    if (theirs->error)
      return failed(self, theirs->error);
    auto& ex = *self->state.busy;
    ex.bytes += 2 * sizeof(uint64_t) * frontier.size();
    ex.digest_bytes += 2 * sizeof(uint64_t) * frontier.size();
    std::vector<uint32_t> differ;
    for (std::size_t i = 0; i < frontier.size(); ++i)
      if (mine->hashes[i] != theirs->hashes[i])
        differ.push_back(frontier[i]);
    if (differ.empty())
      return finish(self, "ready");
    if (level + 1 == merkle_levels) {
      if (differ.size() > self->state.settings.max_segments)
        differ.resize(self->state.settings.max_segments);
      ex.segments = std::move(differ);
      return compare_segments(self, id);
    }
    std::vector<uint32_t> below;
    for (auto index : differ)
      for (auto child : merkle_children(level, index))
        below.push_back(child);
    compare_level(self, id, level + 1, std::move(below));
  };
  ask_tree(self, self->state.stores, level, frontier, mine, compared);
  ask_tree(self, self->state.busy->remote, level, frontier, theirs, compared);
}

// Every digest of a position range from one store, page by page.
struct digest_pages {
  std::unordered_map<std::string, uint64_t> digests;
  caf::error error;
};

template <class Done>
void read_digests(syncer_pointer self, uint64_t id, replica_store_actor store,
                  uint64_t first, uint64_t last, std::string resume_after,
                  std::shared_ptr<digest_pages> into, Done done) {
  self
    ->request(store, self->state.settings.request_timeout, digest_atom::value,
              first, last, resume_after)
    .then(
      [=](key_digests& page) mutable {
        if (!current(self, id))
          return;
        auto& ex = *self->state.busy;
        for (std::size_t i = 0; i < page.keys.size(); ++i) {
          ex.bytes += page.keys[i].size() + sizeof(uint64_t);
          ex.digest_bytes += page.keys[i].size() + sizeof(uint64_t);
          into->digests[std::move(page.keys[i])] = page.digests[i];
        }
        // Bounded: a segment holding more keys than an exchange repairs is
        // finished by the exchanges after this one.
        if (page.done || page.keys.empty()
            || into->digests.size() >= 4 * self->state.settings.max_keys)
          return done();
        read_digests(self, id, store, first, last, page.resume_after, into,
                     done);
      },
      [=](caf::error& err) mutable {
        into->error = std::move(err);
        done();
      });
}

void repair_keys(syncer_pointer self, uint64_t id);

// Reads the digests of the differing segments on both sides, one segment
// at a time, and collects the keys whose digests differ.
void compare_segments(syncer_pointer self, uint64_t id) {
  auto& ex = *self->state.busy;
  if (ex.segments.empty() || ex.keys.size() >= self->state.settings.max_keys)
    return repair_keys(self, id);
  auto segment = ex.segments.back();
  ex.segments.pop_back();
  merkle_tree shape{ex.first, ex.last};
  auto [first, last] = shape.segment_range(segment);
  auto mine = std::make_shared<digest_pages>();
  auto theirs = std::make_shared<digest_pages>();
  auto both = std::make_shared<int>(2);
  auto compared = [=] {
    if (--*both > 0 || !current(self, id))
      return;
    if (mine->error)
      return failed(self, mine->error);
    if (theirs->error)
      return failed(self, theirs->error);
    auto& ex = *self->state.busy;
    for (auto& [key, digest] : mine->digests) {
      auto i = theirs->digests.find(key);
      if (i == theirs->digests.end() || i->second != digest)
        ex.keys.push_back(key);
    }
    for (auto& [key, digest] : theirs->digests)
      if (mine->digests.count(key) == 0)
        ex.keys.push_back(key);
    if (ex.keys.size() > self->state.settings.max_keys)
      ex.keys.resize(self->state.settings.max_keys);
    compare_segments(self, id);
  };
  read_digests(self, id, self->state.stores.front(), first, last, {}, mine,
               compared);
  read_digests(self, id, ex.remote.front(), first, last, {}, theirs, compared);
}

std::size_t versions_bytes(const std::string& key, const sibling_list& list) {
  std::size_t bytes = key.size();
  for (auto& v : list)
    bytes += v.value.size() + 32 + 16 * v.context.size();
  return bytes;
}

// Moves one key's sibling sets both ways; `done` when both merges answered.
void repair_key(syncer_pointer self, uint64_t id, const std::string& key) {
  auto& st = self->state;
  auto& ex = *st.busy;
  auto local = st.stores[store_shard_of(key, static_cast<uint32_t>(st.stores.size()))];
  auto remote
    = ex.remote[store_shard_of(key, static_cast<uint32_t>(ex.remote.size()))];
  auto mine = std::make_shared<std::optional<sibling_list>>();
  auto theirs = std::make_shared<std::optional<sibling_list>>();
  auto both = std::make_shared<int>(2);
  auto key_done = [=] {
    if (!current(self, id))
      return;
    auto& ex = *self->state.busy;
    --ex.keys_pending;
    repair_keys(self, id);
  };
  auto merge_both = [=] {
    if (--*both > 0 || !current(self, id))
      return;
    // A side that could not answer (its record is being repaired, or it
    // failed) gets nothing and gives nothing this time.
    if (!*mine || !*theirs
        || key_digest(key, **mine) == key_digest(key, **theirs))
      return key_done();
    auto& ex = *self->state.busy;
    ++ex.repaired;
    auto merges = std::make_shared<int>(0);
    auto merged = [=] {
      if (--*merges == 0)
        key_done();
    };
    auto timeout = self->state.settings.request_timeout;
    if (!(*theirs)->empty()) {
      ++*merges;
      ex.bytes += versions_bytes(key, **theirs);
      self->request(local, timeout, apply_atom::value, key, **theirs)
        .then([=](ok_atom) { merged(); }, [=](caf::error&) { merged(); });
    }
    if (!(*mine)->empty()) {
      ++*merges;
      ex.bytes += versions_bytes(key, **mine);
      self->request(remote, timeout, apply_atom::value, key, **mine)
        .then([=](ok_atom) { merged(); }, [=](caf::error&) { merged(); });
    }
    if (*merges == 0)
      key_done();
  };
  auto timeout = st.settings.request_timeout;
  self->request(local, timeout, read_atom::value, key)
    .then(
      [=](sibling_list& versions) {
        *mine = std::move(versions);
        merge_both();
      },
      [=](caf::error&) { merge_both(); });
  self->request(remote, timeout, read_atom::value, key)
    .then(
      [=](sibling_list& versions) {
        *theirs = std::move(versions);
        merge_both();
      },
      [=](caf::error&) { merge_both(); });
}

// Keeps up to keys_in_flight keys under repair until every key is done.
void repair_keys(syncer_pointer self, uint64_t id) {
  auto& st = self->state;
  auto& ex = *st.busy;
  while (ex.next_key < ex.keys.size()
         && ex.keys_pending < st.settings.keys_in_flight) {
    auto& key = ex.keys[ex.next_key++];
    // Keys come from a peer's store: one that is not a valid key is skipped.
    if (key_problem(key))
      continue;
    ++ex.keys_pending;
    repair_key(self, id, key);
  }
  if (ex.keys_pending == 0 && ex.next_key >= ex.keys.size())
    finish(self, "ready");
}

void start(syncer_pointer self, uint32_t partition, const std::string& peer,
           bool forced) {
  auto& st = self->state;
  auto& map = st.ring->current();
  exchange ex;
  ex.id = ++st.next_id;
  ex.partition = partition;
  ex.peer = peer;
  ex.first = map.first_position(partition);
  ex.last = partition + 1 < map.partition_count()
              ? map.first_position(partition + 1) - 1
              : std::numeric_limits<uint64_t>::max();
  ex.remote = st.usable(peer)->stores;
  ex.forced = forced;
  st.busy = std::move(ex);
  compare_level(self, st.busy->id, 0, {0});
}

// The next exchange: a forced one, else the next partition this node holds
// with the next of its other replicas that is up.
void step(syncer_pointer self) {
  auto& st = self->state;
  if (st.busy || st.stores.empty())
    return;
  while (!st.forced.empty()) {
    auto [p, peer] = st.forced.front();
    st.forced.pop_front();
    auto peers = st.live_peers(p);
    if (std::find(peers.begin(), peers.end(), peer) != peers.end())
      return start(self, p, peer, true);
  }
  if (st.settings.interval.count() <= 0)
    return;
  auto count = st.ring->current().partition_count();
  for (uint32_t tried = 0; tried < count; ++tried) {
    auto p = st.next_partition++ % count;
    st.next_partition %= count;
    auto peers = st.live_peers(p);
    if (peers.empty())
      continue;
    auto turn = st.turns[p]++;
    return start(self, p, peers[turn % peers.size()], false);
  }
  later(self);
}

merkle_syncer_node_actor::behavior_type
merkle_syncer(syncer_pointer self, merkle_syncer_settings settings,
              std::vector<replica_store_actor> stores) {
  self->state.settings = std::move(settings);
  self->state.stores = std::move(stores);
  return {
    [=](ring_atom, ring_snapshot& next) {
      auto& st = self->state;
      st.ring = std::move(next);
      // Rows of partitions this node no longer holds go.
      for (auto i = st.status.begin(); i != st.status.end();)
        i = st.replicas(i->first).empty() ? st.status.erase(i) : std::next(i);
      later(self);
    },
    [=](members_atom, std::vector<node_card>& cards) {
      auto& st = self->state;
      st.cards.clear();
      for (auto& card : cards) {
        auto id = card.info.node_id;
        st.cards.emplace(std::move(id), std::move(card));
      }
      later(self);
    },
    [=](tick_atom) {
      self->state.tick_pending = false;
      step(self);
    },
    [=](get_atom, aae_atom) {
      auto& st = self->state;
      std::vector<aae_partition> rows;
      auto count = st.ring->current().partition_count();
      for (uint32_t p = 0; p < count; ++p) {
        if (st.replicas(p).empty())
          continue;
        auto i = st.status.find(p);
        if (i != st.status.end()) {
          rows.push_back(i->second);
        } else {
          aae_partition row;
          row.partition = p;
          row.tree = "not compared yet";
          rows.push_back(std::move(row));
        }
      }
      return rows;
    },
    [=](repair_atom, const std::string& node) -> std::string {
      auto& st = self->state;
      if (!node.empty() && !valid_node_id(node))
        return "'" + node + "' is not a valid node id";
      std::size_t queued = 0;
      auto count = st.ring->current().partition_count();
      // Bounded: at most one entry per partition and replica.
      st.forced.clear();
      for (uint32_t p = 0; p < count; ++p)
        for (auto& peer : st.live_peers(p))
          if (node.empty() || peer == node) {
            st.forced.emplace_back(p, peer);
            ++queued;
          }
      if (queued == 0)
        return node.empty()
                 ? "nothing to repair: no partition of this node has another "
                   "replica that is up"
                 : "nothing to repair: " + node
                     + " is not up or holds no partition with this node";
      step(self);
      return "repair: " + std::to_string(queued)
             + " partition exchanges queued; `aae` shows them complete";
    },
  };
}

} // namespace

merkle_syncer_node_actor spawn_merkle_syncer(
  caf::actor_system& sys, merkle_syncer_settings settings,
  std::vector<replica_store_actor> stores) {
  return sys.spawn(merkle_syncer, std::move(settings), std::move(stores));
}

} // namespace kv
