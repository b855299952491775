#include "actors/coordinator.hpp"

#include <algorithm>
#include <chrono>
#include <memory>

#include <caf/all.hpp>

#include "actors/key_hash.hpp"
#include "actors/quorum.hpp"
#include "messages/caf_types.hpp"

namespace kv {

namespace {

using std::chrono::milliseconds;

struct coordinator_state {
  coordinator_settings settings;
  std::vector<replica_store_actor> local_stores;

  static inline const char* name = "coordinator";

  std::size_t cluster_size() const { return 1; }

  // The replicas of `key`, in preference-list order. With one node that is
  // its own store for the key.
  std::vector<replica_store_actor> replicas_for(const std::string& key,
                                                uint32_t n) const {
    auto shard = store_shard_of(key, static_cast<uint32_t>(local_stores.size()));
    std::vector<replica_store_actor> result{local_stores[shard]};
    result.resize(std::min<std::size_t>(n, result.size()));
    return result;
  }

  // Fills the options' zeros. Defaults never ask for more replicas than the
  // cluster has; explicit values are validated as given.
  request_options effective(const request_options& opts) const {
    auto defaults = settings.consistency;
    auto size = static_cast<uint32_t>(cluster_size());
    defaults.n = std::min(defaults.n, size);
    defaults.r = std::min(defaults.r, opts.n != 0 ? opts.n : defaults.n);
    defaults.w = std::min(defaults.w, opts.n != 0 ? opts.n : defaults.n);
    return resolve(opts, defaults);
  }
};

using coordinator_pointer
  = coordinator_actor::stateful_pointer<coordinator_state>;

// The state of one client write while replicas acknowledge it.
struct pending_write {
  caf::typed_response_promise<put_result> promise;
  quorum_tracker quorum;
  uint32_t timeout_ms;
  vector_clock context; // history of the new version

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
      case quorum_tracker::outcome::impossible:
        promise.deliver(make_kv_error(
          kv_errc::write_quorum_failed,
          std::to_string(quorum.successes()) + " of "
            + std::to_string(quorum.contacted())
            + " replicas acknowledged within " + std::to_string(timeout_ms)
            + " ms, " + std::to_string(quorum.required())
            + " needed; the write may still have landed on some replicas"));
        break;
      case quorum_tracker::outcome::pending:
        break;
    }
  }
};

// The state of one client read while replicas answer.
struct pending_read {
  caf::typed_response_promise<get_result> promise;
  quorum_tracker quorum;
  uint32_t timeout_ms;
  sibling_list merged;

  pending_read(caf::typed_response_promise<get_result> rp, uint32_t r,
               uint32_t n, uint32_t timeout)
    : promise(std::move(rp)), quorum(r, n), timeout_ms(timeout) {
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
        promise.deliver(make_kv_error(
          kv_errc::read_quorum_failed,
          std::to_string(quorum.successes()) + " of "
            + std::to_string(quorum.contacted())
            + " replicas answered within " + std::to_string(timeout_ms)
            + " ms, " + std::to_string(quorum.required()) + " needed"));
        break;
      case quorum_tracker::outcome::pending:
        break;
    }
  }
};

caf::result<put_result> start_write(coordinator_pointer self,
                                    const std::string& key, std::string value,
                                    bool tombstone, const vector_clock& context,
                                    const request_options& requested) {
  auto& st = self->state;
  if (auto problem = key_problem(key))
    return make_kv_error(key.empty() ? kv_errc::invalid_argument
                                     : kv_errc::key_too_large,
                         *problem);
  if (auto problem = value_problem(value, st.settings.max_value_bytes))
    return make_kv_error(kv_errc::value_too_large, *problem);
  auto opts = st.effective(requested);
  if (auto problem = options_problem(opts, st.cluster_size()))
    return make_kv_error(kv_errc::invalid_argument, *problem);
  auto replicas = st.replicas_for(key, opts.n);
  auto write = std::make_shared<pending_write>(
    self->make_response_promise<put_result>(), opts.w,
    static_cast<uint32_t>(replicas.size()), opts.timeout_ms);
  auto timeout = milliseconds{opts.timeout_ms};
  // The first replica makes the version; the others merge it.
  self
    ->request(replicas.front(), timeout, coordinate_atom::value, key,
              std::move(value), tombstone, context)
    .then(
      [=](versioned_value& version, sibling_list& versions) {
        write->context = version.history();
        write->quorum.record_success();
        write->settle();
        for (auto i = replicas.begin() + 1; i != replicas.end(); ++i)
          self->request(*i, timeout, apply_atom::value, key, versions)
            .then(
              [=](ok_atom) {
                write->quorum.record_success();
                write->settle();
              },
              [=](caf::error&) {
                write->quorum.record_failure();
                write->settle();
              });
      },
      [=](caf::error& err) {
        // No version was made: the request failed as a whole.
        if (write->promise.pending())
          write->promise.deliver(std::move(err));
      });
  return write->promise;
}

caf::result<get_result> start_read(coordinator_pointer self,
                                   const std::string& key,
                                   const request_options& requested) {
  auto& st = self->state;
  if (auto problem = key_problem(key))
    return make_kv_error(key.empty() ? kv_errc::invalid_argument
                                     : kv_errc::key_too_large,
                         *problem);
  auto opts = st.effective(requested);
  if (auto problem = options_problem(opts, st.cluster_size()))
    return make_kv_error(kv_errc::invalid_argument, *problem);
  auto replicas = st.replicas_for(key, opts.n);
  auto read = std::make_shared<pending_read>(
    self->make_response_promise<get_result>(), opts.r,
    static_cast<uint32_t>(replicas.size()), opts.timeout_ms);
  auto timeout = milliseconds{opts.timeout_ms};
  for (auto& replica : replicas)
    self->request(replica, timeout, read_atom::value, key)
      .then(
        [=](sibling_list& versions) {
          read->merged = reconcile(read->merged, versions);
          read->quorum.record_success();
          read->settle();
        },
        [=](caf::error& err) {
          read->quorum.record_failure();
          // With a single replica its own error says more than "0 of 1".
          if (read->quorum.contacted() == 1 && read->promise.pending())
            read->promise.deliver(std::move(err));
          read->settle();
        });
  return read->promise;
}

coordinator_actor::behavior_type
coordinator(coordinator_pointer self, coordinator_settings settings,
            std::vector<replica_store_actor> local_stores) {
  self->state.settings = std::move(settings);
  self->state.local_stores = std::move(local_stores);
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
  };
}

} // namespace

coordinator_actor spawn_coordinator(caf::actor_system& sys,
                                    coordinator_settings settings,
                                    std::vector<replica_store_actor> local_stores) {
  return sys.spawn(coordinator, std::move(settings), std::move(local_stores));
}

} // namespace kv
