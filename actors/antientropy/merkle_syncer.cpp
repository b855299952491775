#include "actors/antientropy/merkle_syncer.hpp"

#include <algorithm>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/antientropy/merkle_tree.hpp"
#include "actors/key_hash.hpp"
#include "actors/log.hpp"
#include "messages/caf_types.hpp"
#include "messages/limits.hpp"
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
  uint32_t pages = 0; // digest page pairs read
  uint64_t bytes = 0;        // everything below, and versions
  uint64_t digest_bytes = 0; // tree hashes and key digests
  uint64_t repaired = 0;
};

struct syncer_state {
  merkle_syncer_settings settings;
  std::vector<replica_store_actor> stores;
  ring_snapshot ring = std::make_shared<const kv::ring>();
  std::map<std::string, node_card> cards;
  std::map<uint32_t, aae_partition> status;
  // Partitions whose roots differed in a round, to exchange back to back.
  std::deque<std::pair<uint32_t, std::string>> queue;
  // Peers `repair` asked for, compared before the scheduled rounds.
  std::deque<std::string> forced_peers;
  std::size_t next_peer = 0;  // rotates the scheduled rounds' peer
  bool round_due = true;      // the interval has passed since the last round
  bool in_round = false;      // a round's roots are being compared
  std::map<uint64_t, exchange> running; // by id
  // Where the digest comparison of a large segment resumes, by (partition,
  // segment, peer): bounded by the partitions held x 256 x the replicas.
  std::map<std::tuple<uint32_t, uint32_t, std::string>, std::string>
    segment_cursors;
  uint64_t next_id = 0;
  bool tick_pending = false;
  bool step_pending = false;
  log_throttle warnings;

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
    auto ids = map.replica_ids(p);
    bool mine = std::find(ids.begin(), ids.end(), settings.node_id) != ids.end();
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
  return self->state.running.count(id) > 0;
}

// Whether this node takes partition p over in the change in transfer.
bool holds_next(const syncer_state& st, uint32_t p) {
  auto& next = st.ring->next();
  if (next.empty() || p >= next.partition_count())
    return false;
  for (uint32_t i = 0; i < next.list_length(); ++i)
    if (next.members()[next.replicas_of(p)[i]].node_id == st.settings.node_id)
      return true;
  return false;
}

// The next round after the interval (never while anti-entropy is off).
void schedule_round(syncer_pointer self) {
  auto& st = self->state;
  if (st.tick_pending || st.settings.interval.count() <= 0)
    return;
  st.tick_pending = true;
  self->delayed_send(self, st.settings.interval, tick_atom::value);
}

// Runs step() from the mailbox, after whatever is waiting there.
void step_soon(syncer_pointer self) {
  auto& st = self->state;
  if (st.step_pending)
    return;
  st.step_pending = true;
  self->send(self, sync_atom::value);
}

void finish(syncer_pointer self, uint64_t id, const std::string& tree_state) {
  auto& st = self->state;
  auto& ex = st.running.at(id);
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
  st.running.erase(id);
  step_soon(self);
}

void failed(syncer_pointer self, uint64_t id, const caf::error& why) {
  // A tree being built is not a failure: the partition comes round again.
  if (is_kv_error(why, kv_errc::unavailable))
    return finish(self, id, "building");
  auto& st = self->state;
  st.warnings.line(log_level::info, "anti-entropy: an exchange with "
                                      + st.running.at(id).peer + " failed: "
                                      + describe(why)
                                      + " (next warning in 10 s at the "
                                        "earliest)");
  finish(self, id, "failed");
}

void failed_round(syncer_pointer self, const std::string& peer,
                  const caf::error& why) {
  self->state.warnings.line(log_level::info,
                            "anti-entropy: comparing with " + peer
                              + " failed: " + describe(why)
                              + " (next warning in 10 s at the earliest)");
}

// The XOR of every store's answer to one tree question: the node's tree.
struct tree_answer {
  std::vector<uint64_t> hashes;
  caf::error error;
  std::size_t pending = 0;
};

template <class Done>
void ask_tree(syncer_pointer self, uint64_t id,
              const std::vector<replica_store_actor>& stores,
              uint32_t level, const std::vector<uint32_t>& indices,
              std::shared_ptr<tree_answer> answer, Done done) {
  auto& ex = self->state.running.at(id);
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
      return failed(self, id, mine->error);
    if (theirs->error)
      return failed(self, id, theirs->error);
    auto& ex = self->state.running.at(id);
    ex.bytes += 2 * sizeof(uint64_t) * frontier.size();
    ex.digest_bytes += 2 * sizeof(uint64_t) * frontier.size();
    std::vector<uint32_t> differ;
    for (std::size_t i = 0; i < frontier.size(); ++i)
      if (mine->hashes[i] != theirs->hashes[i])
        differ.push_back(frontier[i]);
    if (differ.empty())
      return finish(self, id, "ready");
    if (level + 1 == merkle_levels) {
      // Not always the lowest ones: a difference that cannot be repaired
      // now must not hide those after it.
      if (differ.size() > self->state.settings.max_segments) {
        std::rotate(differ.begin(), differ.begin() + (id % differ.size()),
                    differ.end());
        differ.resize(self->state.settings.max_segments);
      }
      ex.segments = std::move(differ);
      return compare_segments(self, id);
    }
    std::vector<uint32_t> below;
    for (auto index : differ)
      for (auto child : merkle_children(level, index))
        below.push_back(child);
    compare_level(self, id, level + 1, std::move(below));
  };
  ask_tree(self, id, self->state.stores, level, frontier, mine, compared);
  ask_tree(self, id, self->state.running.at(id).remote, level, frontier, theirs,
           compared);
}

void repair_keys(syncer_pointer self, uint64_t id);
void compare_segments(syncer_pointer self, uint64_t id);

// One page of a segment's digests from each side, from the same resume
// point. Keys are compared up to the smaller of the two pages' last keys
// (storage order), so both sides have been read up to there; the rest of
// the segment is read from that point on, in this exchange while the key
// and page budgets last, else in the next exchange of the partition (the
// point is remembered per partition and segment).
void compare_pages(syncer_pointer self, uint64_t id, uint32_t segment,
                   uint64_t first, uint64_t last, std::string resume) {
  auto& ex = self->state.running.at(id);
  auto mine = std::make_shared<std::optional<key_digests>>();
  auto theirs = std::make_shared<std::optional<key_digests>>();
  auto error = std::make_shared<caf::error>();
  auto both = std::make_shared<int>(2);
  auto compared = [=] {
    if (--*both > 0 || !current(self, id))
      return;
    if (*error)
      return failed(self, id, *error);
    auto& st = self->state;
    auto& ex = st.running.at(id);
    auto cursor_key = std::make_tuple(ex.partition, segment, ex.peer);
    // A page must stay in the segment and, unless done, move past the
    // resume point: a broken or hostile peer cannot make this exchange read
    // forever or store an unbounded resume point.
    for (auto* page : {&**mine, &**theirs}) {
      auto in_segment = [&](std::string_view stored) {
        auto position = position_in(stored);
        return position && *position >= first && *position <= last
               && stored.size() <= position_prefix_bytes + max_key_bytes;
      };
      bool sound = page->done || (in_segment(page->resume_after)
                                  && page->resume_after > resume);
      for (auto& key : page->keys)
        sound &= in_segment(stored_key(key));
      if (!sound)
        return failed(self, id,
                      make_kv_error(kv_errc::invalid_argument,
                                    "a digest page outside its segment or "
                                    "not moving on"));
    }
    // Where both sides have been read up to: "" when both are complete.
    auto read_to = [](const key_digests& page) {
      return page.done ? std::string{} : page.resume_after;
    };
    auto a = read_to(**mine), b = read_to(**theirs);
    std::string upto = a.empty() ? b : b.empty() ? a : std::min(a, b);
    // Both sides' digests up to there, in storage order.
    struct both_digests {
      std::string key;
      std::optional<uint64_t> mine, theirs;
    };
    std::map<std::string, both_digests> by_position;
    auto collect = [&](const key_digests& page, bool is_mine) {
      for (std::size_t i = 0; i < page.keys.size(); ++i) {
        auto stored = stored_key(page.keys[i]);
        if (!upto.empty() && stored > upto)
          continue;
        auto& entry = by_position[stored];
        entry.key = page.keys[i];
        (is_mine ? entry.mine : entry.theirs) = page.digests[i];
      }
    };
    collect(**mine, true);
    collect(**theirs, false);
    // Every key up to `checked` is listed or equal on both sides.
    auto checked = resume;
    for (auto& [stored, entry] : by_position) {
      if (entry.mine != entry.theirs) {
        if (ex.keys.size() >= st.settings.max_keys) {
          // The next exchange of this partition resumes after `checked`.
          st.segment_cursors[cursor_key] = checked;
          ex.segments.clear();
          return compare_segments(self, id);
        }
        ex.keys.push_back(entry.key);
      }
      checked = stored;
    }
    if (upto.empty()) {
      st.segment_cursors.erase(cursor_key);
      return compare_segments(self, id);
    }
    if (++ex.pages >= st.settings.max_pages) {
      st.segment_cursors[cursor_key] = upto;
      ex.segments.clear();
      return compare_segments(self, id);
    }
    compare_pages(self, id, segment, first, last, upto);
  };
  auto ask = [&](const replica_store_actor& store,
                 std::shared_ptr<std::optional<key_digests>> into) {
    self
      ->request(store, self->state.settings.request_timeout,
                digest_atom::value, first, last, resume)
      .then(
        [=](key_digests& page) {
          if (current(self, id)) {
            auto bytes = page.keys.size() * sizeof(uint64_t);
            for (auto& key : page.keys)
              bytes += key.size();
            auto& ex = self->state.running.at(id);
            ex.bytes += bytes;
            ex.digest_bytes += bytes;
          }
          *into = std::move(page);
          compared();
        },
        [=](caf::error& err) {
          *error = std::move(err);
          compared();
        });
  };
  ask(self->state.stores.front(), mine);
  ask(ex.remote.front(), theirs);
}

// Reads the digests of the differing segments on both sides, one segment
// at a time, and collects the keys whose digests differ.
void compare_segments(syncer_pointer self, uint64_t id) {
  auto& st = self->state;
  auto& ex = st.running.at(id);
  if (ex.segments.empty() || ex.keys.size() >= st.settings.max_keys) {
    if (ex.keys.size() > st.settings.max_keys)
      ex.keys.resize(st.settings.max_keys);
    return repair_keys(self, id);
  }
  auto segment = ex.segments.back();
  ex.segments.pop_back();
  merkle_tree shape{ex.first, ex.last};
  auto [first, last] = shape.segment_range(segment);
  auto cursor = st.segment_cursors.find({ex.partition, segment, ex.peer});
  auto resume = cursor == st.segment_cursors.end() ? std::string{}
                                                   : cursor->second;
  compare_pages(self, id, segment, first, last, std::move(resume));
}

std::size_t versions_bytes(const std::string& key, const sibling_list& list) {
  std::size_t bytes = key.size();
  for (auto& v : list)
    bytes += v.value.size() + 32 + 16 * v.context.size();
  return bytes;
}

// Moves one key's sibling sets both ways; `done` when both merges answered.
replica_store_actor store_of(const std::vector<replica_store_actor>& stores,
                             const std::string& key) {
  return stores[store_shard_of(key, static_cast<uint32_t>(stores.size()))];
}

// A replica whose record of `key` was lost (set aside as unreadable) counts
// again only through a restore with everything the other replicas hold (the
// rule the coordinator's reads follow): every other replica is read; one
// whose record is lost too holds nothing to add and is restored as well.
// If any replica cannot be read, or none holds a readable record, the
// restore waits for the next exchange.
template <class Done>
void restore_lost(syncer_pointer self, uint64_t id, const std::string& key,
                  const std::string& lost_node, replica_store_actor lost_store,
                  Done done) {
  auto& st = self->state;
  auto& ex = st.running.at(id);
  std::vector<replica_store_actor> others;
  for (auto& replica : st.replicas(ex.partition)) {
    if (replica == lost_node)
      continue;
    if (replica == st.settings.node_id) {
      others.push_back(store_of(st.stores, key));
    } else if (auto* card = st.usable(replica)) {
      others.push_back(store_of(card->stores, key));
    } else {
      return done();
    }
  }
  if (others.empty())
    return done();
  struct gathered {
    sibling_list merged;
    std::vector<replica_store_actor> lost;
    std::size_t readable = 0;
    std::size_t pending = 0;
    bool complete = true;
  };
  auto g = std::make_shared<gathered>();
  g->lost.push_back(lost_store);
  g->pending = others.size();
  auto timeout = st.settings.request_timeout;
  auto one_read = [=] {
    if (--g->pending > 0 || !current(self, id))
      return;
    if (!g->complete || g->readable == 0)
      return done();
    ++self->state.running.at(id).repaired;
    auto restores = std::make_shared<std::size_t>(g->lost.size());
    for (auto& store : g->lost)
      self->request(store, timeout, restore_atom::value, key, g->merged)
        .then(
          [=](ok_atom) {
            if (--*restores == 0)
              done();
          },
          [=](caf::error&) {
            if (--*restores == 0)
              done();
          });
  };
  for (auto& store : others)
    self->request(store, timeout, read_atom::value, key)
      .then(
        [=](sibling_list& versions) {
          g->merged = reconcile(g->merged, versions);
          ++g->readable;
          one_read();
        },
        [=](caf::error& err) {
          if (is_kv_error(err, kv_errc::corrupt_record))
            g->lost.push_back(store);
          else
            g->complete = false;
          one_read();
        });
}

// Moves one key's sibling sets both ways. A peer that does not answer in
// time ends the exchange (the next round comes back to the partition)
// instead of costing a timeout per key.
void repair_key(syncer_pointer self, uint64_t id, const std::string& key) {
  auto& st = self->state;
  auto& ex = st.running.at(id);
  auto local = store_of(st.stores, key);
  auto remote = store_of(ex.remote, key);
  struct side {
    std::optional<sibling_list> versions;
    caf::error error;
  };
  auto mine = std::make_shared<side>();
  auto theirs = std::make_shared<side>();
  auto both = std::make_shared<int>(2);
  auto key_done = [=] {
    if (!current(self, id))
      return;
    auto& ex = self->state.running.at(id);
    --ex.keys_pending;
    repair_keys(self, id);
  };
  auto peer_failed = [=](const caf::error& err) {
    if (current(self, id))
      failed(self, id, err);
  };
  auto merge_both = [=] {
    if (--*both > 0 || !current(self, id))
      return;
    auto& ex = self->state.running.at(id);
    if (is_kv_error(mine->error, kv_errc::corrupt_record))
      return restore_lost(self, id, key, self->state.settings.node_id, local,
                          key_done);
    if (is_kv_error(theirs->error, kv_errc::corrupt_record))
      return restore_lost(self, id, key, ex.peer, remote, key_done);
    if (theirs->error)
      return peer_failed(theirs->error);
    // This node's own store failed: nothing to give or take this time.
    if (mine->error
        || key_digest(key, *mine->versions) == key_digest(key, *theirs->versions))
      return key_done();
    ++ex.repaired;
    auto merges = std::make_shared<int>(0);
    auto merged = [=] {
      if (--*merges == 0)
        key_done();
    };
    auto timeout = self->state.settings.request_timeout;
    if (!theirs->versions->empty()) {
      ++*merges;
      ex.bytes += versions_bytes(key, *theirs->versions);
      self->request(local, timeout, apply_atom::value, key, *theirs->versions)
        .then([=](ok_atom) { merged(); }, [=](caf::error&) { merged(); });
    }
    if (!mine->versions->empty()) {
      ++*merges;
      ex.bytes += versions_bytes(key, *mine->versions);
      self->request(remote, timeout, apply_atom::value, key, *mine->versions)
        .then([=](ok_atom) { merged(); },
              [=](caf::error& err) {
                // Refused (it checks what it merges): the key waits; not
                // answered: the peer is gone for now.
                if (err.category() == error_category)
                  merged();
                else
                  peer_failed(err);
              });
    }
    if (*merges == 0)
      key_done();
  };
  auto timeout = st.settings.request_timeout;
  auto read = [=](const replica_store_actor& store, std::shared_ptr<side> into) {
    self->request(store, timeout, read_atom::value, key)
      .then(
        [=](sibling_list& versions) {
          into->versions = std::move(versions);
          merge_both();
        },
        [=](caf::error& err) {
          into->error = std::move(err);
          merge_both();
        });
  };
  read(local, mine);
  read(remote, theirs);
}

// Keeps up to keys_in_flight keys under repair until every key is done.
void repair_keys(syncer_pointer self, uint64_t id) {
  auto& st = self->state;
  auto& ex = st.running.at(id);
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
    finish(self, id, "ready");
}

void start(syncer_pointer self, uint32_t partition, const std::string& peer) {
  auto& st = self->state;
  auto& map = st.ring->current();
  exchange ex;
  ex.id = ++st.next_id;
  ex.partition = partition;
  ex.peer = peer;
  ex.first = map.first_position(partition);
  ex.last = map.last_position(partition);
  ex.remote = st.usable(peer)->stores;
  auto id = ex.id;
  st.running.emplace(id, std::move(ex));
  compare_level(self, id, 0, {0});
}

// The roots of many partitions from a set of stores, XORed per partition,
// and which of them some store is still building.
struct roots_answer {
  std::vector<uint64_t> roots;
  std::vector<bool> building;
  caf::error error;
  std::size_t pending = 0;
};

template <class Done>
void ask_roots(syncer_pointer self, const std::vector<replica_store_actor>& stores,
               const std::vector<uint64_t>& firsts, uint64_t span,
               std::shared_ptr<roots_answer> answer, Done done) {
  answer->roots.assign(firsts.size(), 0);
  answer->building.assign(firsts.size(), false);
  answer->pending = stores.size();
  for (auto& store : stores)
    self
      ->request(store, self->state.settings.request_timeout, tree_atom::value,
                firsts, span)
      .then(
        [=](std::vector<uint64_t>& roots, std::vector<uint32_t>& building) {
          if (roots.size() != answer->roots.size())
            answer->error = make_kv_error(kv_errc::invalid_argument,
                                          "a roots answer of the wrong size");
          else
            for (std::size_t i = 0; i < roots.size(); ++i)
              answer->roots[i] ^= roots[i];
          for (auto i : building)
            if (i < answer->building.size())
              answer->building[i] = true;
          if (--answer->pending == 0)
            done();
        },
        [=](caf::error& err) {
          answer->error = std::move(err);
          if (--answer->pending == 0)
            done();
        });
}

// A round with one peer: the roots of every partition both hold, compared
// in one request per store; the partitions that differ are queued for an
// exchange, the others count as compared.
void start_round(syncer_pointer self, const std::string& peer) {
  auto& st = self->state;
  auto& map = st.ring->current();
  std::vector<uint32_t> shared;
  for (uint32_t p = 0; p < map.partition_count(); ++p) {
    auto ids = st.replicas(p);
    if (std::find(ids.begin(), ids.end(), peer) != ids.end())
      shared.push_back(p);
  }
  auto* card = st.usable(peer);
  if (shared.empty() || card == nullptr) {
    schedule_round(self);
    return step_soon(self);
  }
  std::vector<uint64_t> firsts;
  for (auto p : shared)
    firsts.push_back(map.first_position(p));
  auto span = map.last_position(shared.front()) - firsts.front();
  auto ring_version = st.ring->epoch();
  auto mine = std::make_shared<roots_answer>();
  auto theirs = std::make_shared<roots_answer>();
  auto both = std::make_shared<int>(2);
  st.in_round = true;
  auto compared = [=] {
    if (--*both > 0)
      return;
    auto& st = self->state;
    st.in_round = false;
    schedule_round(self);
    if (mine->error || theirs->error) {
      failed_round(self, peer, mine->error ? mine->error : theirs->error);
      return step_soon(self);
    }
    // A ring that changed meanwhile may have moved the partitions.
    if (st.ring->epoch() != ring_version)
      return step_soon(self);
    auto now = wall_clock_ms();
    for (std::size_t i = 0; i < shared.size(); ++i) {
      auto& row = st.status[shared[i]];
      row.partition = shared[i];
      row.peer = peer;
      if (mine->building[i] || theirs->building[i]) {
        row.tree = "building";
      } else if (mine->roots[i] != theirs->roots[i]) {
        st.queue.emplace_back(shared[i], peer);
      } else {
        row.tree = "ready";
        row.last_exchange_ms = now;
        ++row.exchanges;
        row.bytes += 2 * sizeof(uint64_t);
        row.digest_bytes += 2 * sizeof(uint64_t);
      }
    }
    step_soon(self);
  };
  ask_roots(self, st.stores, firsts, span, mine, compared);
  ask_roots(self, card->stores, firsts, span, theirs, compared);
}

// The peers this node shares a partition with, in a stable order.
std::vector<std::string> round_peers(const syncer_state& st) {
  std::set<std::string> peers;
  auto count = st.ring->current().partition_count();
  for (uint32_t p = 0; p < count; ++p)
    for (auto& id : st.live_peers(p))
      peers.insert(id);
  return {peers.begin(), peers.end()};
}

// What to do next: the queued exchanges first (up to parallel_exchanges at
// once), then rounds asked for by `repair`, then the scheduled round with
// the next peer.
void step(syncer_pointer self) {
  auto& st = self->state;
  if (st.in_round || st.stores.empty())
    return;
  while (!st.queue.empty()
         && st.running.size() < st.settings.parallel_exchanges) {
    auto [p, peer] = st.queue.front();
    st.queue.pop_front();
    auto peers = st.live_peers(p);
    auto busy = std::any_of(st.running.begin(), st.running.end(),
                            [p = p](auto& kv) { return kv.second.partition == p; });
    // One exchange per partition at a time; the next round finds what a
    // dropped one would have.
    if (!busy && std::find(peers.begin(), peers.end(), peer) != peers.end())
      start(self, p, peer);
  }
  if (!st.running.empty() || !st.queue.empty())
    return;
  if (!st.forced_peers.empty()) {
    auto peer = st.forced_peers.front();
    st.forced_peers.pop_front();
    return start_round(self, peer);
  }
  if (!st.round_due || st.settings.interval.count() <= 0)
    return;
  auto peers = round_peers(st);
  if (peers.empty())
    return schedule_round(self);
  st.round_due = false;
  start_round(self, peers[st.next_peer++ % peers.size()]);
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
      // The stores keep trees of the partitions this node holds only (now
      // or, during a change, next).
      auto& map = st.ring->current();
      if (!map.empty()) {
        std::vector<uint64_t> held;
        for (uint32_t p = 0; p < map.partition_count(); ++p)
          if (!st.replicas(p).empty() || holds_next(st, p))
            held.push_back(map.first_position(p));
        for (auto& store : st.stores)
          self->send(store, tree_atom::value,
                     map.last_position(0) - map.first_position(0), held);
      }
      // Rows of partitions this node no longer holds go.
      for (auto i = st.status.begin(); i != st.status.end();)
        i = st.replicas(i->first).empty() ? st.status.erase(i) : std::next(i);
      for (auto i = st.segment_cursors.begin(); i != st.segment_cursors.end();)
        i = st.replicas(std::get<0>(i->first)).empty()
              ? st.segment_cursors.erase(i)
              : std::next(i);
      schedule_round(self);
    },
    [=](members_atom, std::vector<node_card>& cards) {
      self->state.cards = cards_by_id(std::move(cards));
      schedule_round(self);
    },
    [=](tick_atom) {
      self->state.tick_pending = false;
      self->state.round_due = true;
      step(self);
    },
    [=](sync_atom) {
      self->state.step_pending = false;
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
      auto peers = round_peers(st);
      if (!node.empty())
        peers.erase(std::remove_if(peers.begin(), peers.end(),
                                   [&](auto& id) { return id != node; }),
                    peers.end());
      if (peers.empty())
        return node.empty()
                 ? "nothing to repair: no partition of this node has another "
                   "replica that is up"
                 : "nothing to repair: " + node
                     + " is not up or holds no partition with this node";
      // Bounded: each peer at most once.
      std::size_t partitions = 0;
      auto count = st.ring->current().partition_count();
      for (uint32_t p = 0; p < count; ++p)
        for (auto& id : st.live_peers(p))
          partitions += std::find(peers.begin(), peers.end(), id) != peers.end();
      for (auto& peer : peers)
        if (std::find(st.forced_peers.begin(), st.forced_peers.end(), peer)
            == st.forced_peers.end())
          st.forced_peers.push_back(peer);
      step_soon(self);
      return "repair: " + std::to_string(partitions)
             + " partition comparisons with " + std::to_string(peers.size())
             + " replica(s) queued; `aae` shows them complete";
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
