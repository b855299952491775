#include "bench/raw_driver.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "bench/workload.hpp"
#include "messages/versioned_value.hpp"
#include "persistence/record_codec.hpp"
#include "persistence/storage_error.hpp"
#include "persistence/wt_engine.hpp"

namespace kv {

namespace {

using clock_type = std::chrono::steady_clock;

// The table name a node uses, so both runs build the same kind of B-tree.
constexpr const char* raw_table = "kv";

// Node id of the versions the codec mode writes (as a one-node store would).
constexpr const char* raw_node_id = "n1";

uint64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

// Lets every thread start measuring at the same moment, after all preloads.
class start_gate {
public:
  explicit start_gate(uint32_t parties) : waiting_(parties) {
    // nop
  }

  void arrive_and_wait() {
    std::unique_lock<std::mutex> guard{mtx_};
    if (--waiting_ == 0) {
      cv_.notify_all();
      return;
    }
    cv_.wait(guard, [this] { return waiting_ == 0; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  uint32_t waiting_;
};

// One client thread's storage and the work of one operation.
class raw_client {
public:
  raw_client(wt_engine& engine, const bench_options& opts,
             const std::string& value)
    : session_(engine.open_session()),
      table_(session_.open_table(raw_table)),
      plain_(opts.raw_plain),
      value_(value) {
    // nop
  }

  void put(uint64_t index) {
    key_name(index, key_);
    if (plain_) {
      table_.put(key_, value_);
      return;
    }
    // What the store does before it can write: read what is there.
    uint64_t counter = 0;
    if (table_.get(key_, buffer_)) {
      auto stored = decode_siblings(buffer_);
      for (auto& v : stored)
        counter = std::max(counter, v.origin.counter);
    }
    // One version replacing everything stored (a single-node blind write
    // supersedes the previous versions of the same coordinator).
    auto ts = now_ms();
    sibling_list versions(1);
    auto& v = versions.front();
    v.origin = dot{raw_node_id, counter + 1};
    v.context.advance(raw_node_id, counter, ts); // it saw the previous write
    v.timestamp_ms = ts;
    v.value = value_;
    table_.put(key_, encode_siblings(versions));
  }

  bool get(uint64_t index) {
    key_name(index, key_);
    if (!table_.get(key_, buffer_))
      return false;
    if (!plain_)
      decoded_ = decode_siblings(buffer_);
    return true;
  }

private:
  wt_session session_;
  wt_table table_;
  bool plain_;
  const std::string& value_;
  std::string key_;
  std::string buffer_;
  sibling_list decoded_;
};

struct shared_run {
  const bench_options& opts;
  wt_engine& engine;
  const key_generator& keys;
  const std::string& value;
  start_gate preloaded;
  start_gate measuring;
  std::atomic<uint64_t> issued{0};
  clock_type::time_point start;
  clock_type::time_point deadline;
  std::mutex mtx;
  std::string setup_error;

  shared_run(const bench_options& o, wt_engine& e, const key_generator& k,
             const std::string& v)
    : opts(o),
      engine(e),
      keys(k),
      value(v),
      preloaded(o.clients + 1),
      measuring(o.clients + 1) {
    // nop
  }
};

void note_error(run_result& out, const std::string& what) {
  if (out.first_error.empty())
    out.first_error = what;
}

void client_thread(shared_run& run, uint32_t index, run_result& out) {
  auto& opts = run.opts;
  std::unique_ptr<raw_client> client;
  try {
    client = std::make_unique<raw_client>(run.engine, opts, run.value);
    if (opts.warmup_keys) {
      auto slice = slice_of(opts.keys, opts.clients, index);
      for (auto i = slice.begin; i < slice.end; ++i)
        client->put(i);
    }
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> guard{run.mtx};
    if (run.setup_error.empty())
      run.setup_error = e.what();
  }
  run.preloaded.arrive_and_wait();
  run.measuring.arrive_and_wait();
  if (!client)
    return;
  op_stream ops{run.keys, opts.read_ratio, opts.seed, index};
  auto deadline = run.deadline;
  for (;;) {
    auto start = clock_type::now();
    if (opts.ops > 0 ? run.issued.fetch_add(1, std::memory_order_relaxed)
                         >= opts.ops
                     : start >= deadline)
      break;
    auto op = ops.next();
    auto& stats = op.read ? out.reads : out.writes;
    try {
      if (op.read) {
        if (!client->get(op.key) && opts.warmup_keys) {
          ++stats.errors;
          note_error(out, "read: a preloaded key is missing");
          continue;
        }
      } else {
        client->put(op.key);
      }
    } catch (const std::exception& e) {
      ++stats.errors;
      note_error(out, std::string{op.read ? "read: " : "write: "} + e.what());
      continue;
    }
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                clock_type::now() - start)
                .count();
    stats.latency.record(static_cast<uint64_t>(ns));
  }
}

} // namespace

run_result run_raw(const bench_options& opts, const std::string& data_dir) {
  engine_options eo;
  eo.data_dir = data_dir;
  eo.cache_size_mb = opts.cache_mb;
  eo.durability = *parse_durability(opts.durability);
  wt_engine engine{eo};
  engine.create_table(raw_table);
  auto keys = make_key_generator(opts.dist, opts.keys);
  auto value = make_value(opts.value_size, opts.seed);
  shared_run run{opts, engine, *keys, value};
  std::vector<run_result> parts(opts.clients);
  std::vector<std::thread> threads;
  auto preload_start = clock_type::now();
  for (uint32_t i = 0; i < opts.clients; ++i)
    threads.emplace_back(client_thread, std::ref(run), i, std::ref(parts[i]));
  run.preloaded.arrive_and_wait();
  auto preload_end = clock_type::now();
  // The deadline is set before the gate opens; the gate's mutex publishes it.
  auto cpu_start = process_cpu_seconds();
  run.start = clock_type::now();
  run.deadline = run.start
                 + std::chrono::duration_cast<clock_type::duration>(
                   std::chrono::duration<double>(opts.duration_s));
  run.measuring.arrive_and_wait();
  for (auto& t : threads)
    t.join();
  auto end = clock_type::now();
  auto cpu_end = process_cpu_seconds();
  if (!run.setup_error.empty())
    throw storage_error("raw client setup failed: " + run.setup_error);
  run_result result;
  result.mode = "raw";
  for (auto& p : parts)
    result.merge(p);
  result.elapsed_s = std::chrono::duration<double>(end - run.start).count();
  result.cpu_s = cpu_end - cpu_start;
  if (opts.warmup_keys) {
    result.preloaded = opts.keys;
    result.preload_s
      = std::chrono::duration<double>(preload_end - preload_start).count();
  }
  return result;
}

} // namespace kv
