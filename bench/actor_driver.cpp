#include "bench/actor_driver.hpp"

#include "actors/node.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "bench/workload.hpp"
#include "messages/caf_types.hpp"

namespace kv {

namespace {

using clock_type = std::chrono::steady_clock;
using bench_done_atom = caf::atom_constant<caf::atom("bench_done")>;
using bench_send_atom = caf::atom_constant<caf::atom("bench_send")>;

// What one client keeps from window to window. Only the client actor of
// the current window touches it; the collector reads `out` after that
// actor's bench_done message, which orders the accesses.
struct client_slot {
  uint32_t index = 0;
  std::optional<op_stream> ops;
  // --use-context: the last context this client saw per key index.
  std::unordered_map<uint64_t, vector_clock> contexts;
  run_result out; // of the current window
};

// What all clients of one window share. Written before they are spawned,
// read-only afterwards except for the atomic counter.
struct phase {
  kv::client_actor coordinator;
  const bench_options* opts = nullptr;
  std::string value;
  request_options request;
  caf::duration timeout;
  bool preload = false;
  uint64_t ops = 0; // 0: until the deadline
  // --rate: the time between two requests of one client (0: none).
  clock_type::duration send_every{0};
  clock_type::time_point deadline;
  std::atomic<uint64_t> issued{0};
  // With --use-context: every key's context after the preload, by key index.
  // Preload clients write disjoint slices; measuring clients only read it.
  std::vector<vector_clock>* preload_contexts = nullptr;
};

struct client_state {
  std::shared_ptr<phase> ph;
  client_slot* slot = nullptr;
  caf::actor collector;
  key_slice slice{0, 0}; // preload only
  uint64_t next_key = 0;
  uint32_t in_flight = 0;
  bool stopping = false;
  // --rate: when this client sends next, and whether a timer is set for it.
  clock_type::time_point next_send;
  bool send_timer = false;

  static inline const char* name = "kvbench_client";
};

using bench_client = caf::stateful_actor<client_state>;

void note_error(client_state& st, bool read, const caf::error& err) {
  auto& out = st.slot->out;
  ++(read ? out.reads : out.writes).errors;
  if (out.first_error.empty())
    out.first_error = std::string{read ? "read: " : "write: "}
                      + describe(err);
}

void record(client_state& st, bool read, clock_type::time_point start) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
              clock_type::now() - start)
              .count();
  auto& out = st.slot->out;
  (read ? out.reads : out.writes).latency.record(static_cast<uint64_t>(ns));
}

// The next operation, or nothing once this client should stop issuing.
std::optional<bench_op> next_op(client_state& st) {
  if (st.stopping)
    return std::nullopt;
  auto& ph = *st.ph;
  if (ph.preload) {
    if (st.next_key < st.slice.end)
      return bench_op{false, st.next_key++};
  } else if (ph.ops > 0) {
    if (ph.issued.fetch_add(1, std::memory_order_relaxed) < ph.ops)
      return st.slot->ops->next();
  } else if (clock_type::now() < ph.deadline) {
    return st.slot->ops->next();
  }
  st.stopping = true;
  return std::nullopt;
}

void finish_if_idle(bench_client* self) {
  auto& st = self->state;
  if (!st.stopping || st.in_flight > 0)
    return;
  self->send(st.collector, bench_done_atom::value);
  self->quit();
}

void issue(bench_client* self);

void completed(bench_client* self) {
  --self->state.in_flight;
  issue(self);
  finish_if_idle(self);
}

void remember(client_state& st, uint64_t key, vector_clock&& context) {
  if (!st.ph->opts->use_context)
    return;
  if (!st.ph->preload)
    st.slot->contexts[key] = std::move(context);
  else if (st.ph->preload_contexts != nullptr)
    (*st.ph->preload_contexts)[key] = std::move(context);
}

vector_clock context_for(client_state& st, uint64_t key) {
  auto& ph = *st.ph;
  if (!ph.opts->use_context || ph.preload)
    return {};
  auto i = st.slot->contexts.find(key);
  if (i != st.slot->contexts.end())
    return i->second;
  if (ph.preload_contexts != nullptr)
    return (*ph.preload_contexts)[key];
  return {};
}

// --rate: whether this client may send now; else a timer sends later. A
// client that fell behind (depth reached) does not burst to catch up.
bool paced_out(bench_client* self) {
  auto& st = self->state;
  auto every = st.ph->send_every;
  if (every.count() == 0 || st.ph->preload)
    return false;
  auto now = clock_type::now();
  if (now < st.next_send) {
    if (!st.send_timer) {
      st.send_timer = true;
      self->delayed_send(self, st.next_send - now, bench_send_atom::value);
    }
    return true;
  }
  st.next_send = std::max(st.next_send, now) + every;
  return false;
}

void issue(bench_client* self) {
  auto& st = self->state;
  if (paced_out(self))
    return;
  auto op = next_op(st);
  if (!op)
    return;
  auto& ph = *st.ph;
  auto index = op->key;
  auto start = clock_type::now();
  ++st.in_flight;
  if (op->read) {
    self->request(ph.coordinator, ph.timeout, get_atom::value,
                  key_name(index), ph.request)
      .then(
        [=](get_result& result) {
          auto& st = self->state;
          record(st, true, start);
          auto& out = st.slot->out;
          out.read_siblings += result.siblings.size();
          out.max_siblings = std::max<uint64_t>(out.max_siblings,
                                                result.siblings.size());
          remember(st, index, std::move(result.context));
          completed(self);
        },
        [=](caf::error& err) {
          note_error(self->state, true, err);
          completed(self);
        });
    return;
  }
  self->request(ph.coordinator, ph.timeout, put_atom::value, key_name(index),
                ph.value, context_for(st, index), ph.request)
    .then(
      [=](put_result& result) {
        auto& st = self->state;
        record(st, false, start);
        remember(st, index, std::move(result.context));
        completed(self);
      },
      [=](caf::error& err) {
        note_error(self->state, false, err);
        completed(self);
      });
}

caf::behavior client(bench_client* self, std::shared_ptr<phase> ph,
                     client_slot* slot, caf::actor collector) {
  auto& st = self->state;
  st.ph = ph;
  st.slot = slot;
  st.collector = std::move(collector);
  if (ph->preload) {
    st.slice = slice_of(ph->opts->keys, ph->opts->clients, slot->index);
    st.next_key = st.slice.begin;
  }
  for (uint32_t i = 0; i < ph->opts->depth; ++i)
    issue(self);
  // A client with nothing to do (an empty preload slice) is done at once.
  st.stopping = st.stopping || (st.in_flight == 0 && !st.send_timer);
  finish_if_idle(self);
  // Replies arrive through the request handlers; the behaviour only keeps
  // the actor alive until it quits.
  return {
    [](bench_done_atom) {},
    [self](bench_send_atom) {
      auto& st = self->state;
      st.send_timer = false;
      auto depth = st.ph->opts->depth;
      while (st.in_flight < depth && !st.stopping && !st.send_timer) {
        auto before = st.in_flight;
        issue(self);
        if (st.in_flight == before)
          break;
      }
      finish_if_idle(self);
    },
  };
}

} // namespace

struct actor_bench::impl {
  caf::actor_system& sys;
  kv::client_actor coordinator;
  const bench_options& opts;
  std::string mode;
  std::unique_ptr<key_generator> keys;
  std::string value;
  std::vector<vector_clock> preload_contexts;
  std::vector<client_slot> slots;

  impl(caf::actor_system& s, client_actor c, const bench_options& o,
       std::string m)
    : sys(s),
      coordinator(std::move(c)),
      opts(o),
      mode(std::move(m)),
      keys(make_key_generator(o.dist, o.keys)),
      value(make_value(o.value_size, o.seed)),
      slots(o.clients) {
    for (uint32_t i = 0; i < o.clients; ++i) {
      slots[i].index = i;
      slots[i].ops.emplace(*keys, o.read_ratio, o.seed, i);
    }
  }

  std::shared_ptr<phase> make_phase(bool preload, double seconds,
                                    uint64_t ops) {
    auto ph = std::make_shared<phase>();
    ph->coordinator = coordinator;
    ph->opts = &opts;
    ph->value = value;
    ph->request.n = opts.n;
    ph->request.r = opts.r;
    ph->request.w = opts.w;
    ph->request.timeout_ms = opts.timeout_ms;
    // The coordinator answers by timeout_ms (with a quorum error); the
    // margin lets that answer arrive before the client gives up on its own.
    ph->timeout = opts.client_timeouts
                    ? caf::duration{std::chrono::milliseconds{opts.timeout_ms
                                                              + 1000}}
                    : caf::infinite;
    ph->preload = preload;
    ph->ops = ops;
    if (opts.rate > 0)
      ph->send_every = std::chrono::duration_cast<clock_type::duration>(
        std::chrono::duration<double>{opts.clients / opts.rate});
    ph->deadline = clock_type::now()
                   + std::chrono::duration_cast<clock_type::duration>(
                     std::chrono::duration<double>(seconds));
    if (!preload_contexts.empty())
      ph->preload_contexts = &preload_contexts;
    return ph;
  }

  // Runs one window to completion: the merged result of its clients, with
  // elapsed_s from spawn to the last bench_done.
  run_result run_window(std::shared_ptr<phase> ph, double seconds) {
    caf::scoped_actor self{sys};
    for (auto& slot : slots)
      slot.out = run_result{};
    auto cpu_start = process_cpu_seconds();
    auto start = clock_type::now();
    for (auto& slot : slots)
      sys.spawn(client, ph, &slot, caf::actor_cast<caf::actor>(self));
    // Every request has a timeout (or is local), so every client finishes;
    // the limit of a timed window only guards against lost replies.
    auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::duration<double>(seconds))
                 + std::chrono::milliseconds{opts.timeout_ms} * 2
                 + std::chrono::seconds{30};
    bool timed = !ph->preload && ph->ops == 0;
    for (uint32_t done = 0; done < slots.size(); ++done) {
      if (!timed) {
        self->receive([](bench_done_atom) {});
        continue;
      }
      bool timed_out = false;
      self->receive([](bench_done_atom) {},
                    caf::after(limit) >> [&] { timed_out = true; });
      if (timed_out)
        throw std::runtime_error("client actors did not finish in time ("
                                 + std::to_string(slots.size() - done)
                                 + " still running)");
    }
    auto end = clock_type::now();
    auto cpu_end = process_cpu_seconds();
    run_result result;
    result.mode = mode;
    for (auto& slot : slots)
      result.merge(slot.out);
    result.elapsed_s = std::chrono::duration<double>(end - start).count();
    result.cpu_s = cpu_end - cpu_start;
    return result;
  }
};

actor_bench::actor_bench(caf::actor_system& sys, client_actor coordinator,
                         const bench_options& opts, std::string mode)
  : impl_(std::make_unique<impl>(sys, std::move(coordinator), opts,
                                 std::move(mode))) {
  // nop
}

actor_bench::~actor_bench() {
  // nop
}

run_result actor_bench::preload() {
  auto& d = *impl_;
  // Bounded so a huge key space does not spend gigabytes on contexts; past
  // it, a client's first put of a key is blind (one extra sibling until a
  // get of the key hands the client its context).
  constexpr uint64_t max_preload_contexts = 10000000;
  if (d.opts.use_context && d.opts.keys <= max_preload_contexts)
    d.preload_contexts.resize(d.opts.keys);
  auto result = d.run_window(d.make_phase(true, 0, 0), 0);
  // Preload latencies are not part of any report.
  result.reads = op_stats{};
  result.writes.latency = latency_histogram{};
  return result;
}

run_result actor_bench::measure(double seconds, uint64_t ops) {
  auto& d = *impl_;
  return d.run_window(d.make_phase(false, seconds, ops), seconds);
}

void apply_scheduler_options(caf::actor_system_config& cfg,
                             const bench_options& opts) {
  // Start from what kvnode runs with, so embedded measures the real node.
  apply_node_runtime_defaults(cfg);
  if (opts.scheduler_threads > 0)
    cfg.set("scheduler.max-threads",
            static_cast<size_t>(opts.scheduler_threads));
  if (!opts.scheduler_policy.empty())
    cfg.set("scheduler.policy", caf::atom_from_string(opts.scheduler_policy));
}

} // namespace kv
