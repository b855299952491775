#include "actors/coordination/coordinator.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <limits>
#include <memory>
#include <set>

#include <caf/all.hpp>

#include "actors/ring/claimant.hpp"
#include "actors/membership/clock_offsets.hpp"
#include "actors/key_hash.hpp"
#include "actors/log.hpp"
#include "actors/coordination/quorum.hpp"
#include "messages/caf_types.hpp"

namespace kv {

namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

// A true owner of a key: the store on it that serves the key.
struct owner_replica {
  std::string node_id;
  replica_store_actor store;
};

// A healthy node standing in for an owner that is not (sloppy quorum): it
// holds the key's versions as a hint until the owner is back.
struct fallback_replica {
  std::string node_id;
  std::string intended_owner;
  hint_buffer_actor hints;
  // False for the last resort, a hint kept on this node when no other node
  // can stand in: it only makes sure the owner gets the write later; this
  // node already counts once.
  bool counts = true;
};

// Where one request goes.
struct placement {
  std::vector<owner_replica> owners;       // reachable owners, ring order
  // Reachable nodes that get every write besides the owners during a ring
  // change (ring::also_written_to): they count toward the write, never
  // coordinate one, and are not read.
  std::vector<owner_replica> extra;
  std::size_t extra_total = 0; // such nodes, reachable or not
  std::vector<fallback_replica> fallbacks; // stand-ins for the others
  std::vector<std::string> missing;        // owners without a stand-in

  std::size_t counting_fallbacks() const {
    return std::count_if(fallbacks.begin(), fallbacks.end(),
                         [](const fallback_replica& fb) { return fb.counts; });
  }
};

// Writes in flight per ring version they were placed with.
using epoch_counts = std::map<uint64_t, std::size_t>;

// Held by a write while any of its requests is in flight. When the last
// write placed with a version ends, the coordinator hears of it
// (drained_atom): a node reports a new ring as the one it routes with only
// once no write placed with an older one can still land, so a handoff that
// starts when every node reports it cannot miss a write.
class epoch_guard {
public:
  epoch_guard(std::shared_ptr<epoch_counts> counts, uint64_t epoch,
              caf::weak_actor_ptr owner)
    : counts_(std::move(counts)), epoch_(epoch), owner_(std::move(owner)) {
    ++(*counts_)[epoch_];
  }
  epoch_guard(const epoch_guard&) = delete;
  epoch_guard& operator=(const epoch_guard&) = delete;
  ~epoch_guard() {
    auto i = counts_->find(epoch_);
    if (i == counts_->end() || --i->second > 0)
      return;
    counts_->erase(i);
    if (auto strong = owner_.lock())
      caf::anon_send(caf::actor_cast<caf::actor>(strong), drained_atom::value);
  }

private:
  std::shared_ptr<epoch_counts> counts_;
  uint64_t epoch_;
  caf::weak_actor_ptr owner_;
};

struct coordinator_state {
  coordinator_settings settings;
  ring_snapshot current_ring;
  std::shared_ptr<epoch_counts> writes_in_flight
    = std::make_shared<epoch_counts>();
  uint64_t routed_reported = 0; // the last version told to the gossiper
  // By node id, status = the gossiper's local view: a node it has no
  // working connection to is suspect, so nothing is sent to dead handles.
  std::map<std::string, node_card> cards;
  // Each peer's wall clock minus this node's, as the gossiper measured it.
  std::map<std::string, int64_t> clock_offsets;
  // Shared with the requests in flight, which count themselves when
  // answered.
  std::shared_ptr<request_stats> stats = std::make_shared<request_stats>();
  node_monitor_actor monitor; // set once the node has spawned it
  autoscaler_actor autoscaler; // likewise

  static inline const char* name = "coordinator";

  std::size_t cluster_size() const { return current_ring->size(); }

  // Started without peers and still alone: defaults never ask for more
  // replicas than the ring has (a node that joined a cluster is not alone).
  bool standalone() const {
    return settings.standalone && cluster_size() <= 1;
  }

  const hint_buffer_actor& own_hints() const {
    return cards.at(settings.node_id).hints;
  }

  // Why this node cannot coordinate yet, if it cannot.
  std::optional<caf::error> not_ready() const {
    if (!current_ring->empty())
      return std::nullopt;
    return make_kv_error(kv_errc::unavailable,
                         "this node has not joined its cluster yet (it has no "
                         "ring: no member has sent one and none is saved); "
                         "nothing was done");
  }

  // How many replicas a request may ask for: an explicit n must fit the
  // ring; the default n of a node with seeds stays what it is even when the
  // ring is smaller (a key then has fewer owners until nodes join).
  std::size_t replica_limit(const request_options& requested,
                            uint32_t n) const {
    if (requested.n != 0 || standalone())
      return cluster_size();
    return std::max<std::size_t>(cluster_size(), n);
  }

  // A key's replicas are the first N of its partition's replica list:
  // handoff moves those lists, so replicas beyond them would be left
  // behind by a ring change.
  std::size_t replicas_per_partition() const {
    return current_ring->empty()
             ? std::numeric_limits<std::size_t>::max()
             : std::size_t{current_ring->current().replica_slots()};
  }

  const node_card* usable(const std::string& id) const {
    auto i = cards.find(id);
    if (i == cards.end() || i->second.stores.empty()
        || i->second.info.status != member_status::up)
      return nullptr;
    return &i->second;
  }

  // The key's n owners that can be asked, and (unless strict) the next
  // healthy nodes on the ring standing in for the others.
  placement place(const std::string& key, uint32_t n, bool strict) const {
    placement result;
    auto walk = current_ring->walk(key, n);
    auto owner_count = std::min<std::size_t>(n, walk.size());
    for (std::size_t i = 0; i < owner_count; ++i) {
      if (auto card = usable(walk[i])) {
        auto& stores = card->stores;
        auto shard = store_shard_of(key, static_cast<uint32_t>(stores.size()));
        result.owners.push_back(owner_replica{walk[i], stores[shard]});
      } else {
        result.missing.push_back(walk[i]);
      }
    }
    auto extra = current_ring->also_written_to(key, n);
    result.extra_total = extra.size();
    for (auto& id : extra) {
      if (auto card = usable(id)) {
        auto& stores = card->stores;
        auto shard = store_shard_of(key, static_cast<uint32_t>(stores.size()));
        result.extra.push_back(owner_replica{id, stores[shard]});
      } else {
        result.missing.push_back(id);
      }
    }
    if (strict)
      return result;
    auto next = walk.begin() + owner_count;
    // A node that gets the write anyway is no stand-in.
    auto stand_in = [&](const std::string& id) -> const node_card* {
      if (std::find(extra.begin(), extra.end(), id) != extra.end())
        return nullptr;
      return usable(id);
    };
    std::vector<std::string> still_missing;
    for (auto& owner : result.missing) {
      auto card = static_cast<const node_card*>(nullptr);
      while (next != walk.end() && (card = stand_in(*next)) == nullptr)
        ++next;
      if (next == walk.end()) {
        still_missing.push_back(owner);
        continue;
      }
      result.fallbacks.push_back(fallback_replica{*next, owner, card->hints});
      ++next;
    }
    result.missing = std::move(still_missing);
    return result;
  }

  // A local wall-clock deadline on `node_id`'s clock (0: none, when its
  // offset is unknown).
  uint64_t deadline_for(const std::string& node_id,
                        uint64_t local_deadline_ms) const {
    if (node_id == settings.node_id)
      return local_deadline_ms;
    auto i = clock_offsets.find(node_id);
    return deadline_on_peer(local_deadline_ms,
                            i == clock_offsets.end()
                              ? std::nullopt
                              : std::optional<int64_t>{i->second});
  }

  // Fills the options' zeros. Defaults never ask for more replicas than the
  // cluster has; explicit values are validated as given.
  request_options effective(const request_options& opts) const {
    auto defaults = settings.consistency;
    auto size = static_cast<uint32_t>(std::max<std::size_t>(1, cluster_size()));
    if (standalone())
      defaults.n = std::min(defaults.n, size);
    if (!current_ring->empty())
      defaults.n = std::min(defaults.n, current_ring->current().replica_slots());
    auto n = opts.n != 0 ? opts.n : defaults.n;
    defaults.r = std::min(defaults.r, n);
    defaults.w = std::min(defaults.w, n);
    return resolve(opts, defaults);
  }
};

using coordinator_pointer
  = coordinator_node_actor::stateful_pointer<coordinator_state>;

milliseconds remaining(clock_type::time_point deadline) {
  // Rounded up, so a timer never fires before the deadline itself.
  auto left = std::chrono::ceil<milliseconds>(deadline - clock_type::now());
  return std::max(left, milliseconds{1});
}

// How long to wait for a replica. This node's own stores always answer (or
// CAF reports them dead), so they get no timer: a timer per request goes
// through CAF 0.17's single clock thread and costs more than the request
// (docs/performance.md). Remote replicas get what is left of the deadline.
caf::duration wait_for(const coordinator_state& st, const std::string& node_id,
                       clock_type::time_point deadline) {
  if (node_id == st.settings.node_id)
    return caf::duration{caf::infinite};
  return caf::duration{remaining(deadline)};
}

// Errors that say the write itself is unacceptable: no other replica would
// take it either, so they go straight back to the client.
bool refuses_the_write(const caf::error& err) {
  return is_kv_error(err, kv_errc::key_too_large)
         || is_kv_error(err, kv_errc::value_too_large)
         || is_kv_error(err, kv_errc::too_many_siblings)
         || is_kv_error(err, kv_errc::invalid_argument);
}

std::string joined(const std::vector<std::string>& ids) {
  std::string out;
  for (auto& id : ids)
    out += (out.empty() ? "" : ", ") + id;
  return out;
}

// How many replicas can count toward a quorum, and why not more.
std::string reach_detail(const placement& where, uint32_t n, bool strict,
                         const char* quorum, uint32_t needed) {
  auto counted = where.owners.size() + where.extra.size()
                 + (strict ? 0 : where.counting_fallbacks());
  auto out = "only " + std::to_string(counted) + " of "
             + std::to_string(n + where.extra_total)
             + " replicas are reachable, " + quorum + "="
             + std::to_string(needed) + " needed";
  if (where.extra_total > 0)
    out += " (" + std::to_string(where.extra_total)
           + " of them written to because of a ring change)";
  std::vector<std::string> absent = where.missing;
  if (strict)
    for (auto& fb : where.fallbacks)
      if (fb.counts)
        absent.push_back(fb.intended_owner);
  if (!absent.empty())
    out += " (not reachable: " + joined(absent) + ")";
  if (strict)
    out += "; strict quorum: stand-in nodes do not count";
  return out;
}

// A client's response promise that counts the request in the node's
// request stats when it is answered: every reply of a put, get or delete
// goes through one, whichever path answers it.
template <class T>
class counted_promise {
public:
  counted_promise(caf::typed_response_promise<T> promise,
                  std::shared_ptr<request_stats> stats, request_kind kind)
    : promise_(std::move(promise)), stats_(std::move(stats)), kind_(kind),
      started_(clock_type::now()) {
    // nop
  }

  bool pending() const { return promise_.pending(); }

  void deliver(T reply) {
    if constexpr (std::is_same_v<T, get_result>)
      if (reply.siblings.size() > 1)
        ++stats_->sibling_reads;
    count(operation_stats::outcome::ok);
    promise_.deliver(std::move(reply));
  }

  void deliver(caf::error err) {
    count(outcome_of(err.category() == error_category,
                     static_cast<kv_errc>(err.code())));
    promise_.deliver(std::move(err));
  }

  request_stats& stats() { return *stats_; }

  // What the request handler returns.
  const caf::typed_response_promise<T>& promise() const { return promise_; }

private:
  void count(operation_stats::outcome how) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                clock_type::now() - started_)
                .count();
    stats_->of(kind_).record(how, static_cast<uint64_t>(std::max<int64_t>(ns, 0)));
  }

  caf::typed_response_promise<T> promise_;
  std::shared_ptr<request_stats> stats_;
  request_kind kind_;
  clock_type::time_point started_;
};

// One client write while replicas acknowledge it.
struct pending_write {
  counted_promise<put_result> promise;
  quorum_tracker quorum;
  uint32_t timeout_ms;
  bool hints_count; // sloppy quorum: acknowledged hints count toward W
  vector_clock context;  // covers `siblings` and nothing else
  sibling_list siblings; // the coordinating replica's versions after the write
  caf::error last_error;
  // Owners asked to coordinate that failed: if another owner makes the
  // version, they get it as a hint.
  std::vector<std::string> passed_over;
  // Owners whose record of the key was unreadable (now set aside): they
  // take the version made elsewhere like any other owner, and count.
  std::vector<owner_replica> unreadable;
  bool coordinated_from_nothing = false;
  std::unique_ptr<epoch_guard> placed_with; // the ring version it was placed with

  pending_write(counted_promise<put_result> rp, uint32_t w,
                uint32_t contacted, uint32_t timeout, bool sloppy)
    : promise(std::move(rp)), quorum(w, contacted), timeout_ms(timeout),
      hints_count(sloppy) {
    // nop
  }

  void record(bool ok, caf::error err = {}) {
    if (!ok)
      last_error = std::move(err);
    ok ? quorum.record_success() : quorum.record_failure();
    settle();
  }

  void settle() {
    if (!promise.pending())
      return;
    switch (quorum.state()) {
      case quorum_tracker::outcome::reached:
        promise.deliver(put_result{context, quorum.successes(), siblings});
        break;
      case quorum_tracker::outcome::impossible: {
        // With a single replica its own error says more than "0 of 1".
        if (quorum.contacted() == 1 && last_error) {
          promise.deliver(last_error);
          break;
        }
        auto detail = std::to_string(quorum.successes()) + " of "
                      + std::to_string(quorum.contacted())
                      + " replicas acknowledged within "
                      + std::to_string(timeout_ms) + " ms, "
                      + std::to_string(quorum.required()) + " needed";
        detail += quorum.successes() > 0
                    ? "; the write is stored on the replicas that acknowledged "
                      "and will spread by repair"
                    : "; the write may still have landed on a replica";
        if (last_error)
          detail += " (last error: " + describe(last_error) + ")";
        promise.deliver(make_kv_error(kv_errc::write_quorum_failed, detail));
        break;
      }
      case quorum_tracker::outcome::pending:
        break;
    }
  }
};

// Holds `versions` for `owner` in this node's hint buffer, outside any
// quorum: delivered when gossip shows the owner up.
// How late after a write's deadline a failed replica still gets a hint.
constexpr auto hint_slack = std::chrono::seconds{1};

// Not long after the write's deadline (this node's own store answering
// late): tombstone reaping waits out the longest deadline, not more, and
// anti-entropy brings the write to the owner anyway.
void keep_hint_locally(coordinator_pointer self, const std::string& owner,
                       const std::string& key, const sibling_list& versions,
                       clock_type::time_point deadline) {
  if (clock_type::now() > deadline + hint_slack) {
    log_line(log_level::warning,
             "no hint kept for " + owner
               + ": the write's deadline passed more than 1 s ago; "
                 "anti-entropy repairs the owner");
    return;
  }
  hint held{owner, key, versions, wall_clock_ms()};
  self->request(self->state.own_hints(), std::chrono::seconds{30},
                hint_atom::value, std::move(held))
    .then([](ok_atom) {},
          [=](caf::error& err) {
            log_line(log_level::warning, "cannot keep a hint for " + owner
                                           + ": " + describe(err));
          });
}

// Sends the coordinated versions to the other owners and, as hints, to the
// stand-ins of the missing ones.
void replicate(coordinator_pointer self, std::shared_ptr<pending_write> write,
               const std::string& key, const sibling_list& versions,
               const std::vector<owner_replica>& others,
               const std::vector<fallback_replica>& fallbacks,
               clock_type::time_point deadline) {
  for (auto& target : others) {
    auto owner = target.node_id;
    self->request(target.store, wait_for(self->state, owner, deadline),
                  apply_atom::value, key, versions)
      .then([=](ok_atom) { write->record(true); },
            [=](caf::error& err) {
              write->record(false, std::move(err));
              // It may be down or cut off: keep the write for it here, so it
              // does not depend on a later read to get it.
              keep_hint_locally(self, owner, key, versions, deadline);
            });
  }
  for (auto& target : fallbacks) {
    if (!target.counts) {
      keep_hint_locally(self, target.intended_owner, key, versions, deadline);
      continue;
    }
    hint held{target.intended_owner, key, versions, wall_clock_ms()};
    self->request(target.hints, remaining(deadline), hint_atom::value, held)
      .then(
        [=](ok_atom) {
          if (write->hints_count)
            write->record(true);
        },
        [=](caf::error& err) {
          if (write->hints_count)
            write->record(false, std::move(err));
        });
  }
}

struct write_job {
  std::string key;
  std::string value;
  bool tombstone;
  bool overwrite; // supersedes what the replica holds (request_options)
  vector_clock context;
  placement where;
  clock_type::time_point deadline;
  uint32_t replicas; // the request's N
  // The key has no replica but the first owner (N=1, or a one-node ring),
  // or the request covers the key's whole replica set (its N is at least
  // the cluster's): what decides whether owners that lost their record may
  // start again from nothing.
  bool sole_replica;
  bool whole_replica_set;
};

void coordinate_at(coordinator_pointer self,
                   std::shared_ptr<pending_write> write,
                   std::shared_ptr<const write_job> job, std::size_t index);

// Owner `index` did not make the version: the next owner takes over if that
// is safe and can still help; otherwise the write settles as failed.
void coordination_failed(coordinator_pointer self,
                         std::shared_ptr<pending_write> write,
                         std::shared_ptr<const write_job> job,
                         std::size_t index, caf::error err) {
  auto& target = job->where.owners[index];
  // After a timeout the replica may have made the version (its answer
  // may be stuck on a dropped connection): asking the next owner too
  // could make the one write twice, and a later delete with the
  // client's context would leave the other copy standing. Only a
  // definite failure moves on.
  bool outcome_unknown = err == caf::sec::request_timeout;
  write->last_error = std::move(err);
  write->quorum.record_failure();
  write->passed_over.push_back(target.node_id);
  if (!outcome_unknown && index + 1 < job->where.owners.size()
      && write->quorum.state() == quorum_tracker::outcome::pending) {
    coordinate_at(self, write, job, index + 1);
    return;
  }
  // Nobody else will be asked: the rest count as failed, and so do
  // the owners with an unreadable record that were waiting for the
  // version.
  auto skipped = job->where.owners.size() - index - 1
                 + job->where.extra.size() + write->unreadable.size()
                 + (write->hints_count ? job->where.counting_fallbacks()
                                       : 0);
  for (std::size_t i = 0; i < skipped; ++i)
    write->quorum.record_failure();
  write->settle();
}

// Asks owner `index` to coordinate the write; if it fails for sure, the
// next owner takes over (the failure counts against W).
void coordinate_at(coordinator_pointer self,
                   std::shared_ptr<pending_write> write,
                   std::shared_ptr<const write_job> job, std::size_t index) {
  auto& st = self->state;
  auto& target = job->where.owners[index];
  // The deadline on the replica's own wall clock: one that gets to the
  // request after it (it was hung) refuses it, since the client has had its
  // answer by then and may be retrying.
  auto replica_deadline_ms = st.deadline_for(
    target.node_id, wall_clock_ms() + remaining(job->deadline).count());
  self
    ->request(target.store, wait_for(st, target.node_id, job->deadline),
              coordinate_atom::value, job->key, job->value, job->tombstone,
              job->overwrite, job->context, replica_deadline_ms)
    .then(
      [=](versioned_value&, sibling_list& versions) {
        // Not the new version's history alone: its dot may also cover a
        // concurrent sibling issued by the same replica, which the client
        // never saw; the whole set's context comes with the whole set.
        write->context = context_of(versions);
        write->siblings = live_values(versions);
        write->record(true);
        for (auto& owner : write->passed_over)
          keep_hint_locally(self, owner, job->key, versions, job->deadline);
        std::vector<owner_replica> others(job->where.owners.begin() + index + 1,
                                          job->where.owners.end());
        others.insert(others.end(), write->unreadable.begin(),
                      write->unreadable.end());
        others.insert(others.end(), job->where.extra.begin(),
                      job->where.extra.end());
        replicate(self, write, job->key, versions, others,
                  job->where.fallbacks, job->deadline);
      },
      [=](caf::error& err) {
        if (refuses_the_write(err)) {
          if (write->promise.pending())
            write->promise.deliver(std::move(err));
          return;
        }
        if (is_kv_error(err, kv_errc::corrupt_record)) {
          // The replica set its unreadable record aside and made nothing.
          // Another owner makes the version from what it holds. When no
          // other replica can hold the key (N=1), or every owner of the
          // whole replica set lost its record, they start again from
          // nothing. With other owners out of reach the write fails: a
          // replica that lost its record must not count as an empty one.
          log_line(log_level::warning,
                   target.node_id + " has lost its record of a key (set "
                     + "aside as unreadable): it does not count for the key "
                     + "until it is restored");
          if (index + 1 < job->where.owners.size()) {
            write->unreadable.push_back(target);
            coordinate_at(self, write, job, index + 1);
            return;
          }
          auto& where = job->where;
          bool all_lost = job->whole_replica_set && where.missing.empty()
                          && where.owners.size() == job->replicas
                          && write->unreadable.size() + 1 == where.owners.size();
          if ((job->sole_replica || all_lost)
              && !write->coordinated_from_nothing) {
            write->coordinated_from_nothing = true;
            for (auto& other : write->unreadable)
              self->request(other.store, remaining(job->deadline),
                            restore_atom::value, job->key, sibling_list{})
                .then([](ok_atom) {}, [](caf::error&) {});
            self
              ->request(target.store, wait_for(self->state, target.node_id,
                                                job->deadline),
                        restore_atom::value, job->key, sibling_list{})
              .then([=](ok_atom) { coordinate_at(self, write, job, index); },
                    [=](caf::error& err) {
                      coordination_failed(self, write, job, index,
                                          std::move(err));
                    });
            return;
          }
        }
        coordination_failed(self, write, job, index, std::move(err));
      });
}

// Validates a request; the error to answer with, if it is invalid.
std::optional<caf::error> request_problem(const coordinator_state& st,
                                          const std::string& key,
                                          const request_options& opts,
                                          const request_options& requested) {
  if (auto problem = key_problem(key))
    return make_kv_error(key.empty() ? kv_errc::invalid_argument
                                     : kv_errc::key_too_large,
                         *problem);
  if (auto problem = options_problem(opts, st.replica_limit(requested, opts.n)))
    return make_kv_error(kv_errc::invalid_argument, *problem);
  if (opts.timeout_ms > st.settings.max_timeout_ms)
    return make_kv_error(kv_errc::invalid_argument,
                         "timeout=" + std::to_string(opts.timeout_ms)
                           + " ms is above this node's maximum of "
                           + std::to_string(st.settings.max_timeout_ms)
                           + " ms (--max-request-timeout-ms)");
  if (opts.n > st.replicas_per_partition())
    return make_kv_error(kv_errc::invalid_argument,
                         "n=" + std::to_string(opts.n) + " is more than the "
                           + std::to_string(st.replicas_per_partition())
                           + " replicas a partition has (the ring's "
                             "--ring-replicas)");
  return std::nullopt;
}

caf::result<put_result> start_write(coordinator_pointer self,
                                    const std::string& key, std::string value,
                                    bool tombstone, const vector_clock& context,
                                    const request_options& requested) {
  auto& st = self->state;
  if (auto err = st.not_ready())
    return std::move(*err);
  auto opts = st.effective(requested);
  if (auto err = request_problem(st, key, opts, requested))
    return std::move(*err);
  if (auto problem = value_problem(value, st.settings.max_value_bytes))
    return make_kv_error(kv_errc::value_too_large, *problem);
  if (auto problem = context_problem(context))
    return make_kv_error(kv_errc::invalid_argument, *problem);
  auto sloppy = !opts.strict_quorum;
  auto where = st.place(key, opts.n, opts.strict_quorum);
  // Owners nobody stands in for (every unreachable one, if strict) still get
  // the write: a hint here, outside the quorum count.
  for (auto& owner : where.missing)
    where.fallbacks.push_back(
      fallback_replica{st.settings.node_id, owner, st.own_hints(), false});
  auto counted = where.owners.size() + where.extra.size()
                 + (sloppy ? where.counting_fallbacks() : 0);
  // During a ring change a write needs W acknowledgements plus one per
  // extra node (Cassandra's pending ranges): whichever nodes it reached, at
  // least W hold it on either side of the switch.
  auto required = opts.w + static_cast<uint32_t>(where.extra_total);
  if (where.owners.empty())
    return make_kv_error(kv_errc::unavailable,
                         "no owner of this key is reachable (down: "
                           + joined(where.missing.empty()
                                      ? std::vector<std::string>{"?"}
                                      : where.missing)
                           + "); nothing was written");
  if (counted < required)
    return make_kv_error(kv_errc::write_quorum_failed,
                         reach_detail(where, opts.n, opts.strict_quorum, "w",
                                      required)
                           + "; nothing was written");
  auto write = std::make_shared<pending_write>(
    counted_promise<put_result>{self->make_response_promise<put_result>(),
                                st.stats,
                                tombstone ? request_kind::del
                                          : request_kind::put},
    required,
    static_cast<uint32_t>(counted), opts.timeout_ms, sloppy);
  write->placed_with = std::make_unique<epoch_guard>(
    st.writes_in_flight, st.current_ring->epoch(),
    caf::weak_actor_ptr{self->ctrl()});
  auto job = std::make_shared<const write_job>(
    write_job{key, std::move(value), tombstone, opts.overwrite, context,
              std::move(where),
              clock_type::now() + milliseconds{opts.timeout_ms}, opts.n,
              st.cluster_size() == 1 || st.effective({}).n == 1,
              opts.n >= st.effective({}).n});
  coordinate_at(self, write, job, 0);
  return write->promise.promise();
}

// One client read while replicas answer; repairs stale owners once all have
// answered or timed out.
struct pending_read {
  counted_promise<get_result> promise;
  quorum_tracker quorum;
  // Stand-ins only hold what was hinted to them, so an answer is given only
  // once an owner has answered too (unless every owner failed): empty
  // stand-ins must not outvote an owner that has the data.
  uint32_t owners_pending = 0;
  uint32_t owners_answered = 0;
  uint32_t timeout_ms;
  clock_type::time_point deadline;
  std::string key;
  sibling_list merged;
  std::vector<std::pair<replica_store_actor, sibling_list>> owner_answers;
  // Owners whose record was unreadable: they lost the key and get the
  // merged versions, like owners that answered with less. They count again
  // (restore) only when the merge covers every other owner of the key's
  // whole replica set; otherwise they only keep what it brings (apply).
  std::vector<replica_store_actor> unreadable_owners;
  bool whole_replica_set = false; // every owner of the key was asked
  caf::error last_error;
  std::size_t owners_asked = 0;

  pending_read(counted_promise<get_result> rp, uint32_t r,
               uint32_t contacted, uint32_t timeout, std::string k)
    : promise(std::move(rp)), quorum(r, contacted), timeout_ms(timeout),
      key(std::move(k)) {
    // nop
  }

  void settle() {
    if (!promise.pending())
      return;
    switch (quorum.state()) {
      case quorum_tracker::outcome::reached:
        if (owners_answered == 0 && owners_pending > 0)
          break;
        promise.deliver(get_result{live_values(merged), context_of(merged),
                                   quorum.successes()});
        break;
      case quorum_tracker::outcome::impossible:
        // With a single replica its own error says more than "0 of 1".
        if (quorum.contacted() == 1 && last_error) {
          promise.deliver(last_error);
          break;
        }
        promise.deliver(make_kv_error(
          kv_errc::read_quorum_failed,
          std::to_string(quorum.successes()) + " of "
            + std::to_string(quorum.contacted()) + " replicas answered within "
            + std::to_string(timeout_ms) + " ms, "
            + std::to_string(quorum.required()) + " needed"
            + (last_error ? " (last error: " + describe(last_error) + ")"
                          : std::string{})));
        break;
      case quorum_tracker::outcome::pending:
        break;
    }
  }

  void answered(sibling_list versions, bool from_owner) {
    merged = reconcile(merged, versions);
    if (from_owner) {
      --owners_pending;
      ++owners_answered;
    }
    quorum.record_success();
    settle();
  }

  void failed(caf::error err, bool from_owner) {
    last_error = std::move(err);
    if (from_owner)
      --owners_pending;
    quorum.record_failure();
    settle();
  }

  // Sends the merged versions to every owner that answered with less.
  // Owners that did not answer are left to hints and anti-entropy.
  void repair(coordinator_pointer self) {
    // Past the deadline (a store of this node answered late) the versions
    // read may be older than a delete every replica has since agreed on and
    // reaped: reaping waits out the longest deadline, not more.
    if (quorum.outstanding() > 0 || merged.empty()
        || clock_type::now() > deadline)
      return;
    for (auto& [store, versions] : owner_answers)
      // Stores keep sets in reconcile's canonical order, so equality means
      // "nothing to repair".
      if (versions != merged) {
        ++promise.stats().read_repairs;
        self->request(store, milliseconds{timeout_ms}, apply_atom::value, key,
                      merged)
          .then([](ok_atom) {}, [](caf::error&) {});
      }
    bool covers_the_others
      = whole_replica_set && !owner_answers.empty()
        && owner_answers.size() + unreadable_owners.size() == owners_asked;
    for (auto& store : unreadable_owners) {
      auto answer = [](ok_atom) {};
      auto ignore = [](caf::error&) {};
      if (covers_the_others)
        self->request(store, milliseconds{timeout_ms}, restore_atom::value,
                      key, merged)
          .then(answer, ignore);
      else
        self->request(store, milliseconds{timeout_ms}, apply_atom::value, key,
                      merged)
          .then(answer, ignore);
    }
  }
};

caf::result<get_result> start_read(coordinator_pointer self,
                                   const std::string& key,
                                   const request_options& requested) {
  auto& st = self->state;
  if (auto err = st.not_ready())
    return std::move(*err);
  auto opts = st.effective(requested);
  if (auto err = request_problem(st, key, opts, requested))
    return std::move(*err);
  auto where = st.place(key, opts.n, opts.strict_quorum);
  auto counted = where.owners.size() + where.fallbacks.size();
  if (counted < opts.r)
    return make_kv_error(kv_errc::read_quorum_failed,
                         reach_detail(where, opts.n, opts.strict_quorum, "r",
                                      opts.r));
  auto read = std::make_shared<pending_read>(
    counted_promise<get_result>{self->make_response_promise<get_result>(),
                                st.stats, request_kind::get},
    opts.r,
    static_cast<uint32_t>(counted), opts.timeout_ms, key);
  read->owners_pending = static_cast<uint32_t>(where.owners.size());
  read->owners_asked = where.owners.size();
  read->whole_replica_set = where.missing.empty() && where.fallbacks.empty()
                            && where.owners.size() == opts.n
                            && opts.n >= st.effective({}).n;
  auto timeout = milliseconds{opts.timeout_ms};
  auto deadline = clock_type::now() + timeout;
  read->deadline = deadline;
  for (auto& owner : where.owners) {
    auto store = owner.store;
    self->request(store, wait_for(st, owner.node_id, deadline), read_atom::value,
                  key)
      .then(
        [=](sibling_list& versions) {
          read->owner_answers.emplace_back(store, versions);
          read->answered(std::move(versions), true);
          read->repair(self);
        },
        [=](caf::error& err) {
          // An unreadable record does not count toward R (the replica lost
          // what it held), but the replica is repaired with what the others
          // answer.
          if (is_kv_error(err, kv_errc::corrupt_record))
            read->unreadable_owners.push_back(store);
          read->failed(std::move(err), true);
          read->repair(self);
        });
  }
  for (auto& fallback : where.fallbacks)
    self
      ->request(fallback.hints, timeout, read_atom::value,
                fallback.intended_owner, key)
      .then(
        [=](sibling_list& versions) {
          read->answered(std::move(versions), false);
          read->repair(self);
        },
        [=](caf::error& err) {
          read->failed(std::move(err), false);
          read->repair(self);
        });
  return read->promise.promise();
}

std::vector<member_info> members_of(const coordinator_state& st) {
  std::vector<member_info> result;
  for (auto& [id, card] : st.cards)
    result.push_back(card.info);
  return result;
}

// Takes the gossiper's view of the members, handles and statuses together:
// the gossiper watches the connections and reconnects.
void update_cards(coordinator_pointer self, std::vector<node_card>& cards) {
  auto& st = self->state;
  // The gossiper's list is the whole membership: a member it forgot (one
  // that joined another cluster) goes here too.
  auto own = st.cards.find(st.settings.node_id);
  std::map<std::string, node_card> fresh;
  if (own != st.cards.end())
    fresh.emplace(own->first, std::move(own->second));
  for (auto& card : cards) {
    auto id = card.info.node_id;
    fresh[id] = std::move(card);
  }
  st.cards = std::move(fresh);
}

// Tells the gossiper the ring version every write of this node is placed
// with, once no write placed with an older one is in flight.
void report_routed(coordinator_pointer self) {
  auto& st = self->state;
  auto version = st.current_ring->epoch();
  if (version == 0 || version == st.routed_reported)
    return;
  auto& in_flight = *st.writes_in_flight;
  if (!in_flight.empty() && in_flight.begin()->first < version)
    return;
  auto own = st.cards.find(st.settings.node_id);
  if (own == st.cards.end() || !own->second.gossiper)
    return;
  st.routed_reported = version;
  self->send(own->second.gossiper, routed_atom::value, version);
}

// An operator's remove or replace: planned here if this node is the
// claimant (the new ring goes to this node's gossiper, which spreads it),
// else passed to the claimant's coordinator, which answers the operator.
caf::result<std::string> change_ring(coordinator_pointer self,
                                     const std::string& old_id,
                                     const std::string& new_id) {
  auto& st = self->state;
  auto members = members_of(st);
  auto& held = st.current_ring->state();
  auto claimant = claimant_of(held, members, st.settings.node_id);
  if (claimant.empty())
    return make_kv_error(kv_errc::unavailable,
                         "no member of the ring is up here to plan a change");
  if (claimant != st.settings.node_id) {
    auto i = st.cards.find(claimant);
    if (i == st.cards.end() || !i->second.coordinator)
      return make_kv_error(kv_errc::unavailable,
                           "the claimant " + claimant + " is not reachable");
    if (new_id.empty())
      return self->delegate(i->second.coordinator, remove_atom::value, old_id);
    return self->delegate(i->second.coordinator, replace_atom::value, old_id,
                          new_id);
  }
  auto plan = new_id.empty()
                ? plan_removal(st.settings.node_id, held, members, old_id)
                : plan_replacement(st.settings.node_id, held, members, old_id,
                                   new_id);
  if (!plan.ring)
    return make_kv_error(kv_errc::invalid_argument, plan.refusal);
  self->send(st.cards.at(st.settings.node_id).gossiper, ring_atom::value,
             *plan.ring);
  auto version = " (ring version " + std::to_string(plan.ring->version) + ")";
  if (new_id.empty())
    return old_id + " is removed" + version
           + ": its partitions are copied to other nodes from the surviving "
             "replicas";
  return old_id + " is replaced by " + new_id + version + ": " + new_id
         + " copies its partitions from the surviving replicas once it runs";
}

// The coordinator is published: node-internal messages from anywhere else
// are ignored (the typed client interface does not have them, but a
// dynamically typed peer can send anything).
bool from_own_node(coordinator_pointer self) {
  auto& sender = self->current_sender();
  return sender && sender->node() == self->node();
}

// A request refused before any replica was asked (bad options, no ring, too
// few replicas reachable) is counted here; the others count themselves when
// answered (counted_promise).
template <class T>
caf::result<T> count_refusal(coordinator_pointer self, request_kind kind,
                             caf::result<T> result) {
  if (result.flag == caf::rt_error)
    self->state.stats->of(kind).record(
      outcome_of(result.err.category() == error_category,
                 static_cast<kv_errc>(result.err.code())),
      0);
  return result;
}

coordinator_node_actor::behavior_type
coordinator(coordinator_pointer self, coordinator_settings settings,
            node_card self_card) {
  auto& st = self->state;
  st.settings = std::move(settings);
  ring saved;
  if (auto problem = ring::from_state(st.settings.saved_ring, saved))
    log_line(log_level::error, "the saved ring is unusable: " + *problem);
  st.current_ring = std::make_shared<const ring>(std::move(saved));
  st.cards.emplace(self_card.info.node_id, std::move(self_card));
  return {
    [=](put_atom, const std::string& key, std::string& value,
        const vector_clock& context, const request_options& opts) {
      return count_refusal(self, request_kind::put,
                           start_write(self, key, std::move(value), false,
                                       context, opts));
    },
    [=](get_atom, const std::string& key, const request_options& opts) {
      return count_refusal(self, request_kind::get,
                           start_read(self, key, opts));
    },
    [=](delete_atom, const std::string& key, const vector_clock& context,
        const request_options& opts) {
      return count_refusal(self, request_kind::del,
                           start_write(self, key, std::string{}, true, context,
                                       opts));
    },
    [=](stats_atom) -> caf::result<request_stats> {
      if (!from_own_node(self))
        return make_kv_error(kv_errc::invalid_argument,
                             "request stats are for this node's monitor");
      return *self->state.stats;
    },
    [=](monitor_atom, node_monitor_actor& monitor) {
      if (from_own_node(self))
        self->state.monitor = std::move(monitor);
    },
    [=](autoscale_atom, autoscaler_actor& autoscaler) {
      if (from_own_node(self))
        self->state.autoscaler = std::move(autoscaler);
    },
    [=](get_atom, autoscale_atom,
        bool follow) -> caf::result<autoscale_status> {
      if (!self->state.autoscaler)
        return make_kv_error(kv_errc::unavailable,
                             "this node's autoscaler is not running yet");
      return self->delegate(self->state.autoscaler, get_atom::value,
                            autoscale_atom::value, follow);
    },
    [=](autoscale_atom, const std::string& what, const std::string& value,
        bool everywhere) -> caf::result<std::string> {
      if (!self->state.autoscaler)
        return make_kv_error(kv_errc::unavailable,
                             "this node's autoscaler is not running yet");
      return self->delegate(self->state.autoscaler, autoscale_atom::value,
                            what, value, everywhere);
    },
    [=](get_atom, stats_atom) -> caf::result<node_stats> {
      if (!self->state.monitor)
        return make_kv_error(kv_errc::unavailable,
                             "this node's monitor is not running yet");
      return self->delegate(self->state.monitor, get_atom::value,
                            stats_atom::value);
    },
    [=](join_atom) -> caf::result<gossiper_actor> {
      auto& own = self->state.cards.at(self->state.settings.node_id);
      if (!own.gossiper)
        return make_kv_error(kv_errc::unavailable, "membership is starting");
      return own.gossiper;
    },
    [=](get_atom, members_atom) -> caf::result<std::vector<member_info>> {
      // The gossiper has the freshest heartbeats and statuses.
      auto& own = self->state.cards.at(self->state.settings.node_id);
      if (own.gossiper)
        return self->delegate(own.gossiper, get_atom::value,
                              members_atom::value);
      return members_of(self->state);
    },
    [=](get_atom, ring_atom, const std::string& key, uint32_t n) {
      return self->state.current_ring->preference_list(key, n);
    },
    [=](get_atom, ring_atom) { return self->state.current_ring->state(); },
    [=](leave_atom) -> caf::result<std::string> {
      auto& st = self->state;
      if (st.current_ring->current().find(st.settings.node_id) == nullptr
          && st.current_ring->next().find(st.settings.node_id) == nullptr)
        return make_kv_error(kv_errc::invalid_argument,
                             st.settings.node_id + " holds no partition");
      self->send(st.cards.at(st.settings.node_id).gossiper, leave_atom::value);
      return st.settings.node_id
             + " is leaving: it hands its partitions over and keeps serving "
               "until the ring no longer lists it";
    },
    [=](join_atom, const std::string& host,
        uint16_t port) -> caf::result<std::string> {
      auto& own = self->state.cards.at(self->state.settings.node_id);
      if (!own.gossiper)
        return make_kv_error(kv_errc::unavailable, "membership is starting");
      // Asked, not delegated: the gossiper takes a join from this node only.
      auto rp = self->make_response_promise<std::string>();
      self->request(own.gossiper, std::chrono::minutes{1}, join_atom::value,
                    host, port)
        .then([=](std::string& reply) mutable { rp.deliver(std::move(reply)); },
              [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](remove_atom, const std::string& node_id) {
      return change_ring(self, node_id, std::string{});
    },
    [=](replace_atom, const std::string& old_id, const std::string& new_id)
      -> caf::result<std::string> {
      if (new_id.empty())
        return make_kv_error(kv_errc::invalid_argument, "replace: NEW is empty");
      return change_ring(self, old_id, new_id);
    },
    [=](get_atom, hint_atom) {
      auto& own = self->state.cards.at(self->state.settings.node_id);
      return self->delegate(own.hints, get_atom::value, hint_atom::value);
    },
    [=](get_atom, aae_atom) {
      return self->delegate(self->state.settings.syncer, get_atom::value,
                            aae_atom::value);
    },
    [=](get_atom, reap_atom) {
      return self->delegate(self->state.settings.reaper, get_atom::value,
                            reap_atom::value);
    },
    [=](repair_atom, const std::string& node_id) {
      return self->delegate(self->state.settings.syncer, repair_atom::value,
                            node_id);
    },
    [=](read_atom, const std::string& key) {
      auto& stores = self->state.cards.at(self->state.settings.node_id).stores;
      auto shard = store_shard_of(key, static_cast<uint32_t>(stores.size()));
      return self->delegate(stores[shard], read_atom::value, key);
    },
    [=](ring_atom, ring_snapshot& next) {
      auto& st = self->state;
      // A node that joined another cluster reports that cluster's versions
      // afresh: its own versions mean nothing there.
      if (next->state().cluster != st.current_ring->state().cluster)
        st.routed_reported = 0;
      st.current_ring = std::move(next);
      report_routed(self);
    },
    [=](members_atom, std::vector<node_card>& cards) {
      update_cards(self, cards);
      report_routed(self);
    },
    [=](drained_atom) { report_routed(self); },
    [=](offsets_atom, std::vector<std::string>& ids,
        std::vector<int64_t>& offsets) {
      auto& known = self->state.clock_offsets;
      known.clear();
      for (std::size_t i = 0; i < ids.size() && i < offsets.size(); ++i)
        known.emplace(std::move(ids[i]), offsets[i]);
    },
  };
}

} // namespace

coordinator_node_actor spawn_coordinator(caf::actor_system& sys,
                                         coordinator_settings settings,
                                         node_card self_card) {
  return sys.spawn(coordinator, std::move(settings), std::move(self_card));
}

} // namespace kv
