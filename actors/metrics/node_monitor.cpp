#include "actors/metrics/node_monitor.hpp"

#include <filesystem>
#include <memory>
#include <system_error>

#include <caf/all.hpp>

#include "actors/log.hpp"
#include "actors/metrics/cpu_meter.hpp"
#include "actors/metrics/request_window.hpp"

namespace kv {

namespace {

using steady = std::chrono::steady_clock;
using node_monitor_impl = node_monitor_actor;

struct node_monitor_state {
  node_monitor_settings settings;
  request_window requests;
  node_stats figures;
  steady::time_point started = steady::now();
  bool gathering = false; // a round of questions is out
  cpu_meter cpu;
  std::optional<double> cpu_smoothed; // share of the cores, 0..1

  static inline const char* name = "node_monitor";
};

using monitor_pointer = node_monitor_impl::stateful_pointer<node_monitor_state>;

uint64_t steady_ms() {
  return static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      steady::now().time_since_epoch())
      .count());
}

// The bytes of every file below `dir`; what cannot be read counts 0.
uint64_t directory_bytes(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  uint64_t total = 0;
  for (fs::recursive_directory_iterator i{dir, ec}, end; !ec && i != end;
       i.increment(ec)) {
    std::error_code size_ec;
    if (i->is_regular_file(size_ec)) {
      auto size = i->file_size(size_ec);
      if (!size_ec)
        total += size;
    }
  }
  return total;
}

void add_store(store_stats& sum, const store_stats& one, bool first) {
  sum.keys_written += one.keys_written;
  sum.reads += one.reads;
  sum.sibling_warnings += one.sibling_warnings;
  sum.corrupt_records += one.corrupt_records;
  sum.tombstones += one.tombstones;
  sum.keys += one.keys;
  sum.keys_complete = (first || sum.keys_complete) && one.keys_complete;
  if (first) // the engine's figures: the same from every store
    sum.engine = one.engine;
}

// The answers of one round, applied when the last one is in (or failed).
struct round {
  round(monitor_pointer self, std::size_t questions)
    : self(self), outstanding(questions) {
    // nop
  }

  // One question answered or failed; the last one completes the round.
  void done() {
    if (--outstanding == 0)
      complete();
  }

  void complete() {
    auto& st = self->state;
    st.gathering = false;
    if (have_requests)
      st.requests.observe(steady_ms(), requests);
    auto& f = st.figures;
    f.get = st.requests.figures(request_kind::get);
    f.put = st.requests.figures(request_kind::put);
    f.del = st.requests.figures(request_kind::del);
    f.read_repairs = st.requests.latest().read_repairs;
    f.sibling_reads = st.requests.latest().sibling_reads;
    if (stores_answered == st.settings.stores.size())
      f.store = stores;
    f.measured_ms = wall_clock_ms();
    f.uptime_s = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(steady::now()
                                                       - st.started)
        .count());
    node_load load;
    load.measured_ms = f.measured_ms;
    auto ops = f.get.per_s + f.put.per_s + f.del.per_s;
    load.ops_per_s = static_cast<uint32_t>(ops + 0.5);
    load.p99_us = static_cast<uint32_t>(
      std::max({f.get.p99_us, f.put.p99_us, f.del.p99_us}));
    load.keys = f.store.keys;
    load.keys_complete = f.store.keys_complete;
    load.disk_bytes = f.disk_bytes;
    load.hints = f.hints.held;
    load.transfers = static_cast<uint32_t>(
      f.handoff_partitions > f.handoff_copied
        ? f.handoff_partitions - f.handoff_copied
        : 0);
    if (auto share = st.cpu.sample()) {
      // The same smoothing over about ten rounds as the request rate: one
      // busy second (a tree build, a compaction) is not load.
      st.cpu_smoothed = st.cpu_smoothed ? *st.cpu_smoothed * 0.9 + *share * 0.1
                                        : *share;
    }
    load.cpu_permille = static_cast<uint32_t>(st.cpu_smoothed.value_or(0) * 1000
                                              + 0.5);
    if (st.settings.gossiper)
      self->send(st.settings.gossiper, load_atom::value, load);
  }

  monitor_pointer self;
  std::size_t outstanding;
  request_stats requests;
  bool have_requests = false;
  store_stats stores;
  std::size_t stores_answered = 0;
};

void gather(monitor_pointer self) {
  auto& st = self->state;
  if (st.gathering)
    return; // the last round still waits for an answer
  st.gathering = true;
  auto& s = st.settings;
  auto questions = 1 + s.stores.size() + (s.hints ? 1 : 0)
                   + (s.handoff ? 1 : 0) + (s.syncer ? 1 : 0)
                   + (s.reaper ? 1 : 0);
  auto r = std::make_shared<round>(self, questions);
  auto limit = s.interval;
  auto failed = [r](caf::error&) { r->done(); };
  st.figures.disk_bytes = directory_bytes(s.data_dir);
  self->request(s.coordinator, limit, stats_atom::value)
    .then(
      [r](request_stats& stats) {
        r->requests = std::move(stats);
        r->have_requests = true;
        r->done();
      },
      failed);
  for (auto& store : s.stores)
    self->request(store, limit, stats_atom::value)
      .then(
        [r](const store_stats& one) {
          add_store(r->stores, one, r->stores_answered == 0);
          ++r->stores_answered;
          r->done();
        },
        failed);
  if (s.hints)
    self->request(s.hints, limit, stats_atom::value)
      .then(
        [self, r](const hint_stats& h) {
          self->state.figures.hints = h;
          r->done();
        },
        failed);
  if (s.handoff)
    self->request(s.handoff, limit, get_atom::value, handoff_atom::value)
      .then(
        [self, r](uint64_t transition, uint64_t partitions, uint64_t copied,
                  uint64_t bytes) {
          auto& f = self->state.figures;
          f.handoff_transition = transition;
          f.handoff_partitions = partitions;
          f.handoff_copied = copied;
          f.handoff_bytes = bytes;
          r->done();
        },
        failed);
  if (s.syncer)
    self->request(s.syncer, limit, get_atom::value, aae_atom::value)
      .then(
        [self, r](const std::vector<aae_partition>& rows) {
          auto& f = self->state.figures;
          f.aae_partitions = rows.size();
          f.aae_compared = 0;
          f.aae_keys_repaired = 0;
          f.aae_bytes = 0;
          for (auto& row : rows) {
            f.aae_compared += row.last_exchange_ms != 0 ? 1 : 0;
            f.aae_keys_repaired += row.keys_repaired;
            f.aae_bytes += row.bytes;
          }
          r->done();
        },
        failed);
  if (s.reaper)
    self->request(s.reaper, limit, get_atom::value, reap_atom::value)
      .then(
        [self, r](reap_status& status) {
          self->state.figures.reaping = std::move(status);
          r->done();
        },
        failed);
}

node_monitor_impl::behavior_type node_monitor(monitor_pointer self,
                                              node_monitor_settings settings) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.figures.node_id = st.settings.node_id;
  st.figures.dc = st.settings.dc;
  self->send(self, tick_atom::value);
  return {
    [=](tick_atom) {
      // Only its own timer: a stray tick would start a second chain.
      if (self->current_sender() != self->ctrl())
        return;
      gather(self);
      self->delayed_send(self, self->state.settings.interval,
                         tick_atom::value);
    },
    [=](get_atom, stats_atom) { return self->state.figures; },
  };
}

} // namespace

node_monitor_actor spawn_node_monitor(caf::actor_system& sys,
                                      node_monitor_settings settings) {
  return sys.spawn(node_monitor, std::move(settings));
}

} // namespace kv
