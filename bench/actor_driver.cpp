#include "bench/actor_driver.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <unordered_map>

#include <caf/all.hpp>

#include "bench/workload.hpp"
#include "messages/caf_types.hpp"

namespace kv {

namespace {

using clock_type = std::chrono::steady_clock;
using bench_done_atom = caf::atom_constant<caf::atom("bench_done")>;

// What all clients of one phase share. Written before they are spawned,
// read-only afterwards except for the atomic counter.
struct phase {
  coordinator_actor coordinator;
  const bench_options* opts = nullptr;
  const key_generator* keys = nullptr;
  std::string value;
  request_options request;
  std::chrono::milliseconds timeout{0};
  bool preload = false;
  clock_type::time_point deadline;
  std::atomic<uint64_t> issued{0};
};

struct client_state {
  std::shared_ptr<phase> ph;
  // The collector reads it only after this actor's bench_done message, which
  // orders the writes before the reads.
  run_result* out = nullptr;
  caf::actor collector;
  std::optional<op_stream> ops;
  key_slice slice{0, 0};
  uint64_t next_key = 0;
  uint32_t in_flight = 0;
  bool stopping = false;
  std::unordered_map<uint64_t, vector_clock> contexts; // --use-context

  static inline const char* name = "kvbench_client";
};

using client_actor = caf::stateful_actor<client_state>;

void note_error(client_state& st, bool read, const caf::error& err) {
  ++(read ? st.out->reads : st.out->writes).errors;
  if (st.out->first_error.empty())
    st.out->first_error = std::string{read ? "read: " : "write: "}
                          + describe(err);
}

void record(client_state& st, bool read, clock_type::time_point start) {
  if (st.ph->preload)
    return;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
              clock_type::now() - start)
              .count();
  (read ? st.out->reads : st.out->writes)
    .latency.record(static_cast<uint64_t>(ns));
}

// The next operation, or nothing once this client should stop issuing.
std::optional<bench_op> next_op(client_state& st) {
  if (st.stopping)
    return std::nullopt;
  auto& ph = *st.ph;
  if (ph.preload) {
    if (st.next_key < st.slice.end)
      return bench_op{false, st.next_key++};
  } else if (ph.opts->ops > 0) {
    if (ph.issued.fetch_add(1, std::memory_order_relaxed) < ph.opts->ops)
      return st.ops->next();
  } else if (clock_type::now() < ph.deadline) {
    return st.ops->next();
  }
  st.stopping = true;
  return std::nullopt;
}

void finish_if_idle(client_actor* self) {
  auto& st = self->state;
  if (!st.stopping || st.in_flight > 0)
    return;
  self->send(st.collector, bench_done_atom::value);
  self->quit();
}

void issue(client_actor* self);

void completed(client_actor* self) {
  --self->state.in_flight;
  issue(self);
  finish_if_idle(self);
}

void issue(client_actor* self) {
  auto& st = self->state;
  auto op = next_op(st);
  if (!op)
    return;
  auto& ph = *st.ph;
  auto key = key_name(op->key);
  auto start = clock_type::now();
  ++st.in_flight;
  if (op->read) {
    self->request(ph.coordinator, ph.timeout, get_atom::value, std::move(key),
                  ph.request)
      .then(
        [=](get_result& result) {
          auto& st = self->state;
          record(st, true, start);
          if (st.ph->opts->use_context)
            st.contexts[op->key] = std::move(result.context);
          completed(self);
        },
        [=](caf::error& err) {
          note_error(self->state, true, err);
          completed(self);
        });
    return;
  }
  vector_clock context;
  if (ph.opts->use_context) {
    auto i = st.contexts.find(op->key);
    if (i != st.contexts.end())
      context = i->second;
  }
  self->request(ph.coordinator, ph.timeout, put_atom::value, std::move(key),
                ph.value, std::move(context), ph.request)
    .then(
      [=](put_result& result) {
        auto& st = self->state;
        record(st, false, start);
        if (st.ph->opts->use_context)
          st.contexts[op->key] = std::move(result.context);
        completed(self);
      },
      [=](caf::error& err) {
        note_error(self->state, false, err);
        completed(self);
      });
}

caf::behavior client(client_actor* self, std::shared_ptr<phase> ph,
                     uint32_t index, run_result* out, caf::actor collector) {
  auto& st = self->state;
  st.ph = ph;
  st.out = out;
  st.collector = std::move(collector);
  if (ph->preload) {
    st.slice = slice_of(ph->opts->keys, ph->opts->clients, index);
    st.next_key = st.slice.begin;
  } else {
    st.ops.emplace(*ph->keys, ph->opts->read_ratio, ph->opts->seed, index);
  }
  for (uint32_t i = 0; i < ph->opts->depth; ++i)
    issue(self);
  // A client with nothing to do (an empty preload slice) is done at once.
  st.stopping = st.stopping || st.in_flight == 0;
  finish_if_idle(self);
  // Replies arrive through the request handlers; the behaviour only keeps
  // the actor alive until it quits.
  return {[](bench_done_atom) {}};
}

// Runs one phase to completion and returns the merged result of its
// clients, with elapsed_s measured from spawn to the last bench_done.
run_result run_phase(caf::actor_system& sys, std::shared_ptr<phase> ph) {
  auto& opts = *ph->opts;
  std::vector<run_result> parts(opts.clients);
  caf::scoped_actor self{sys};
  auto cpu_start = process_cpu_seconds();
  auto start = clock_type::now();
  ph->deadline = start
                 + std::chrono::duration_cast<clock_type::duration>(
                   std::chrono::duration<double>(opts.duration_s));
  for (uint32_t i = 0; i < opts.clients; ++i)
    sys.spawn(client, ph, i, &parts[i],
              caf::actor_cast<caf::actor>(self));
  // Every request carries a timeout, so every client finishes; the limit of
  // a timed phase only guards against a bug that loses replies.
  auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::duration<double>(opts.duration_s))
               + ph->timeout * 2 + std::chrono::seconds{30};
  bool timed = !ph->preload && opts.ops == 0;
  for (uint32_t done = 0; done < opts.clients; ++done) {
    if (!timed) {
      self->receive([](bench_done_atom) {});
      continue;
    }
    bool timed_out = false;
    self->receive([](bench_done_atom) {},
                  caf::after(limit) >> [&] { timed_out = true; });
    if (timed_out)
      throw std::runtime_error("client actors did not finish in time ("
                               + std::to_string(opts.clients - done)
                               + " still running)");
  }
  auto end = clock_type::now();
  auto cpu_end = process_cpu_seconds();
  run_result result;
  for (auto& p : parts)
    result.merge(p);
  result.elapsed_s = std::chrono::duration<double>(end - start).count();
  result.cpu_s = cpu_end - cpu_start;
  return result;
}

} // namespace

void apply_scheduler_options(caf::actor_system_config& cfg,
                             const bench_options& opts) {
  if (opts.scheduler_threads > 0)
    cfg.set("scheduler.max-threads",
            static_cast<size_t>(opts.scheduler_threads));
  if (!opts.scheduler_policy.empty())
    cfg.set("scheduler.policy", caf::atom_from_string(opts.scheduler_policy));
}

run_result run_actor_clients(caf::actor_system& sys,
                             const coordinator_actor& coordinator,
                             const bench_options& opts,
                             const std::string& mode) {
  auto keys = make_key_generator(opts.dist, opts.keys);
  auto make_phase = [&](bool preload) {
    auto ph = std::make_shared<phase>();
    ph->coordinator = coordinator;
    ph->opts = &opts;
    ph->keys = keys.get();
    ph->value = make_value(opts.value_size, opts.seed);
    ph->request.n = opts.n;
    ph->request.r = opts.r;
    ph->request.w = opts.w;
    ph->request.timeout_ms = opts.timeout_ms;
    // The coordinator answers by timeout_ms (with a quorum error); the margin
    // lets that answer arrive before the client gives up on its own.
    ph->timeout = std::chrono::milliseconds{opts.timeout_ms + 1000};
    ph->preload = preload;
    return ph;
  };
  run_result preload;
  if (opts.warmup_keys)
    preload = run_phase(sys, make_phase(true));
  auto result = run_phase(sys, make_phase(false));
  result.mode = mode;
  if (opts.warmup_keys) {
    result.preloaded = opts.keys;
    result.preload_s = preload.elapsed_s;
    if (preload.errors() > 0 && result.first_error.empty())
      result.first_error = "preload: " + std::to_string(preload.errors())
                           + " puts failed, first: " + preload.first_error;
  }
  return result;
}

} // namespace kv
