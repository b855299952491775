#include "actors/coordinator.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <memory>

#include <caf/all.hpp>

#include "actors/key_hash.hpp"
#include "actors/quorum.hpp"
#include "messages/caf_types.hpp"

namespace kv {

namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

// One replica of a key: the node and the store on it that serves the key.
struct replica {
  std::string node_id;
  replica_store_actor store;
};

struct coordinator_state {
  coordinator_settings settings;
  ring_snapshot current_ring;
  std::map<std::string, node_card> cards; // by node id
  // Nodes whose actors we saw go away (down_msg): not asked until a card
  // with fresh handles (a restart, a reconnect) arrives.
  std::set<std::string> unreachable;

  static inline const char* name = "coordinator";

  std::size_t cluster_size() const { return current_ring->size(); }

  // The key's preference list, as replicas we hold handles for.
  std::vector<replica> replicas_for(const std::string& key, uint32_t n) const {
    std::vector<replica> result;
    for (auto& id : current_ring->preference_list(key, n)) {
      auto i = cards.find(id);
      if (i == cards.end() || i->second.stores.empty()
          || unreachable.count(id) > 0)
        continue;
      auto& stores = i->second.stores;
      auto shard = store_shard_of(key, static_cast<uint32_t>(stores.size()));
      result.push_back(replica{id, stores[shard]});
    }
    return result;
  }

  // Fills the options' zeros. Defaults never ask for more replicas than the
  // cluster has; explicit values are validated as given.
  request_options effective(const request_options& opts) const {
    auto defaults = settings.consistency;
    auto size = static_cast<uint32_t>(std::max<std::size_t>(1, cluster_size()));
    defaults.n = std::min(defaults.n, size);
    auto n = opts.n != 0 ? opts.n : defaults.n;
    defaults.r = std::min(defaults.r, n);
    defaults.w = std::min(defaults.w, n);
    return resolve(opts, defaults);
  }
};

using coordinator_pointer
  = coordinator_node_actor::stateful_pointer<coordinator_state>;

milliseconds remaining(clock_type::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline
                                                       - clock_type::now());
  return std::max(left, milliseconds{1});
}

// Errors that say the write itself is unacceptable: no other replica would
// take it either, so they go straight back to the client.
bool refuses_the_write(const caf::error& err) {
  return is_kv_error(err, kv_errc::key_too_large)
         || is_kv_error(err, kv_errc::value_too_large)
         || is_kv_error(err, kv_errc::too_many_siblings)
         || is_kv_error(err, kv_errc::invalid_argument);
}

// One client write while replicas acknowledge it.
struct pending_write {
  caf::typed_response_promise<put_result> promise;
  quorum_tracker quorum;
  uint32_t timeout_ms;
  vector_clock context; // history of the new version
  caf::error last_error;

  pending_write(caf::typed_response_promise<put_result> rp, uint32_t w,
                uint32_t n, uint32_t timeout)
    : promise(std::move(rp)), quorum(w, n), timeout_ms(timeout) {
    // nop
  }

  void settle() {
    if (!promise.pending())
      return;
    switch (quorum.state()) {
      case quorum_tracker::outcome::reached:
        promise.deliver(put_result{context, quorum.successes()});
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

void replicate(coordinator_pointer self, std::shared_ptr<pending_write> write,
               const std::string& key, const sibling_list& versions,
               const std::vector<replica>& others,
               clock_type::time_point deadline) {
  for (auto& target : others)
    self->request(target.store, remaining(deadline), apply_atom::value, key,
                  versions)
      .then(
        [=](ok_atom) {
          write->quorum.record_success();
          write->settle();
        },
        [=](caf::error& err) {
          write->last_error = std::move(err);
          write->quorum.record_failure();
          write->settle();
        });
}

// Asks replicas[index] to coordinate the write; if it cannot be reached, the
// next one in the preference list takes over (its failure counts against W).
void coordinate_at(coordinator_pointer self,
                   std::shared_ptr<pending_write> write, std::string key,
                   std::string value, bool tombstone, vector_clock context,
                   std::vector<replica> replicas, std::size_t index,
                   clock_type::time_point deadline) {
  auto target = replicas[index].store;
  self
    ->request(target, remaining(deadline), coordinate_atom::value, key, value,
              tombstone, context)
    .then(
      [=](versioned_value& version, sibling_list& versions) {
        write->context = version.history();
        write->quorum.record_success();
        write->settle();
        std::vector<replica> others(replicas.begin() + index + 1,
                                    replicas.end());
        replicate(self, write, key, versions, others, deadline);
      },
      [=](caf::error& err) mutable {
        if (refuses_the_write(err)) {
          if (write->promise.pending())
            write->promise.deliver(std::move(err));
          return;
        }
        write->last_error = err;
        write->quorum.record_failure();
        if (index + 1 < replicas.size()
            && write->quorum.state() == quorum_tracker::outcome::pending)
          coordinate_at(self, write, std::move(key), std::move(value),
                        tombstone, std::move(context), std::move(replicas),
                        index + 1, deadline);
        else
          write->settle();
      });
}

std::string unreachable_detail(std::size_t reachable, uint32_t n,
                               const char* quorum, uint32_t needed) {
  return "only " + std::to_string(reachable) + " of " + std::to_string(n)
         + " replicas are reachable, " + quorum + "=" + std::to_string(needed)
         + " needed";
}

// Validates a request; the error to answer with, if it is invalid.
std::optional<caf::error> request_problem(const coordinator_state& st,
                                          const std::string& key,
                                          const request_options& opts) {
  if (auto problem = key_problem(key))
    return make_kv_error(key.empty() ? kv_errc::invalid_argument
                                     : kv_errc::key_too_large,
                         *problem);
  if (auto problem = options_problem(opts, st.cluster_size()))
    return make_kv_error(kv_errc::invalid_argument, *problem);
  return std::nullopt;
}

caf::result<put_result> start_write(coordinator_pointer self,
                                    const std::string& key, std::string value,
                                    bool tombstone, const vector_clock& context,
                                    const request_options& requested) {
  auto& st = self->state;
  auto opts = st.effective(requested);
  if (auto err = request_problem(st, key, opts))
    return std::move(*err);
  if (auto problem = value_problem(value, st.settings.max_value_bytes))
    return make_kv_error(kv_errc::value_too_large, *problem);
  if (auto problem = context_problem(context))
    return make_kv_error(kv_errc::invalid_argument, *problem);
  auto replicas = st.replicas_for(key, opts.n);
  if (replicas.size() < opts.w)
    return make_kv_error(kv_errc::write_quorum_failed,
                         unreachable_detail(replicas.size(), opts.n, "w",
                                            opts.w)
                           + "; nothing was written");
  auto write = std::make_shared<pending_write>(
    self->make_response_promise<put_result>(), opts.w, opts.n,
    opts.timeout_ms);
  // Replicas known to be unreachable count as failed right away.
  for (auto i = replicas.size(); i < opts.n; ++i)
    write->quorum.record_failure();
  auto deadline = clock_type::now() + milliseconds{opts.timeout_ms};
  coordinate_at(self, write, key, std::move(value), tombstone, context,
                std::move(replicas), 0, deadline);
  return write->promise;
}

// One client read while replicas answer; repairs stale replicas once all
// have answered or timed out.
struct pending_read {
  caf::typed_response_promise<get_result> promise;
  quorum_tracker quorum;
  uint32_t timeout_ms;
  std::string key;
  sibling_list merged;
  std::vector<std::pair<replica_store_actor, sibling_list>> answers;
  caf::error last_error;

  pending_read(caf::typed_response_promise<get_result> rp, uint32_t r,
               uint32_t n, uint32_t timeout, std::string k)
    : promise(std::move(rp)), quorum(r, n), timeout_ms(timeout),
      key(std::move(k)) {
    // nop
  }

  void settle() {
    if (!promise.pending())
      return;
    switch (quorum.state()) {
      case quorum_tracker::outcome::reached:
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

  // Sends the merged versions to every replica that answered with less.
  // Replicas that did not answer are left to hints and anti-entropy.
  void repair(coordinator_pointer self) {
    if (quorum.outstanding() > 0 || merged.empty())
      return;
    for (auto& [store, versions] : answers)
      if (versions != merged)
        self->request(store, milliseconds{timeout_ms}, apply_atom::value, key,
                      merged)
          .then([](ok_atom) {}, [](caf::error&) {});
  }
};

caf::result<get_result> start_read(coordinator_pointer self,
                                   const std::string& key,
                                   const request_options& requested) {
  auto& st = self->state;
  auto opts = st.effective(requested);
  if (auto err = request_problem(st, key, opts))
    return std::move(*err);
  auto replicas = st.replicas_for(key, opts.n);
  if (replicas.size() < opts.r)
    return make_kv_error(kv_errc::read_quorum_failed,
                         unreachable_detail(replicas.size(), opts.n, "r",
                                            opts.r));
  auto read = std::make_shared<pending_read>(
    self->make_response_promise<get_result>(), opts.r, opts.n, opts.timeout_ms,
    key);
  for (auto i = replicas.size(); i < opts.n; ++i)
    read->quorum.record_failure();
  auto timeout = milliseconds{opts.timeout_ms};
  for (auto& target : replicas) {
    auto store = target.store;
    self->request(store, timeout, read_atom::value, key)
      .then(
        [=](sibling_list& versions) {
          read->merged = reconcile(read->merged, versions);
          // Stores keep sets in reconcile's canonical order, so equality
          // with the merged set means "nothing to repair".
          read->answers.emplace_back(store, std::move(versions));
          read->quorum.record_success();
          read->settle();
          read->repair(self);
        },
        [=](caf::error& err) {
          read->last_error = std::move(err);
          read->quorum.record_failure();
          read->settle();
          read->repair(self);
        });
  }
  return read->promise;
}

std::vector<member_info> members_of(const coordinator_state& st) {
  std::vector<member_info> result;
  for (auto& [id, card] : st.cards)
    result.push_back(card.info);
  return result;
}

coordinator_node_actor::behavior_type
coordinator(coordinator_pointer self, coordinator_settings settings,
            node_card self_card) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.current_ring = std::make_shared<const ring>(
    make_ring({self_card.info}, 0));
  st.cards.emplace(self_card.info.node_id, std::move(self_card));
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    for (auto& [id, card] : st.cards)
      if (card.coordinator.address() == msg.source)
        st.unreachable.insert(id);
  });
  return {
    [=](put_atom, const std::string& key, std::string& value,
        const vector_clock& context, const request_options& opts) {
      return start_write(self, key, std::move(value), false, context, opts);
    },
    [=](get_atom, const std::string& key, const request_options& opts) {
      return start_read(self, key, opts);
    },
    [=](delete_atom, const std::string& key, const vector_clock& context,
        const request_options& opts) {
      return start_write(self, key, std::string{}, true, context, opts);
    },
    [=](join_atom) -> caf::result<gossiper_actor> {
      auto& st = self->state;
      auto& own = st.cards.at(st.settings.node_id);
      if (!own.gossiper)
        return make_kv_error(kv_errc::unavailable, "membership is starting");
      return own.gossiper;
    },
    [=](get_atom, members_atom) { return members_of(self->state); },
    [=](get_atom, ring_atom, const std::string& key, uint32_t n) {
      return self->state.current_ring->preference_list(key, n);
    },
    [=](ring_atom, ring_snapshot& next) {
      self->state.current_ring = std::move(next);
    },
    [=](members_atom, std::vector<node_card>& cards) {
      auto& st = self->state;
      for (auto& card : cards) {
        auto id = card.info.node_id;
        auto known = st.cards.find(id);
        bool fresh = known == st.cards.end()
                     || known->second.coordinator != card.coordinator;
        if (fresh && id != st.settings.node_id) {
          // A peer's actors vanish together when it stops or the link
          // drops; watching its coordinator is enough.
          self->monitor(card.coordinator);
          st.unreachable.erase(id);
        }
        st.cards[id] = std::move(card);
      }
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
