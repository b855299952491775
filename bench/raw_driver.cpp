#include "bench/raw_driver.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

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
      auto stored = decode_key_record(buffer_).siblings;
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
    table_.put(key_, encode_key_record(key_record{versions, counter + 1}));
  }

  bool get(uint64_t index) {
    key_name(index, key_);
    if (!table_.get(key_, buffer_))
      return false;
    if (!plain_)
      decoded_ = decode_key_record(buffer_).siblings;
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

// One thread's part of a window.
struct thread_slot {
  std::unique_ptr<raw_client> client;
  std::optional<op_stream> ops;
  run_result out;
};

void note_error(run_result& out, const std::string& what) {
  if (out.first_error.empty())
    out.first_error = what;
}

} // namespace

struct raw_bench::impl {
  const bench_options& opts;
  wt_engine engine;
  std::unique_ptr<key_generator> keys;
  std::string value;
  std::vector<thread_slot> slots;

  impl(const bench_options& o, const std::string& data_dir)
    : opts(o),
      engine(engine_settings(o, data_dir)),
      keys(make_key_generator(o.dist, o.keys)),
      value(make_value(o.value_size, o.seed)),
      slots(raw_threads(o)) {
    engine.create_table(raw_table);
    for (uint32_t i = 0; i < slots.size(); ++i) {
      slots[i].client = std::make_unique<raw_client>(engine, opts, value);
      slots[i].ops.emplace(*keys, o.read_ratio, o.seed, i);
    }
  }

  static engine_options engine_settings(const bench_options& o,
                                        const std::string& data_dir) {
    engine_options eo;
    eo.data_dir = data_dir;
    eo.cache_size_mb = o.cache_mb;
    eo.durability = *parse_durability(o.durability);
    return eo;
  }

  // Runs `body(slot, index)` on one thread per slot; the result merges the
  // slots' outputs, with wall and CPU time around the whole window.
  template <class F>
  run_result run_threads(F body) {
    for (auto& slot : slots)
      slot.out = run_result{};
    auto cpu_start = process_cpu_seconds();
    auto start = clock_type::now();
    std::vector<std::thread> threads;
    for (uint32_t i = 0; i < slots.size(); ++i)
      threads.emplace_back([&, i] { body(slots[i], i); });
    for (auto& t : threads)
      t.join();
    auto end = clock_type::now();
    auto cpu_end = process_cpu_seconds();
    run_result result;
    result.mode = "raw";
    for (auto& slot : slots)
      result.merge(slot.out);
    result.elapsed_s = std::chrono::duration<double>(end - start).count();
    result.cpu_s = cpu_end - cpu_start;
    return result;
  }
};

raw_bench::raw_bench(const bench_options& opts, const std::string& data_dir)
  : impl_(std::make_unique<impl>(opts, data_dir)) {
  // nop
}

raw_bench::~raw_bench() {
  // nop
}

run_result raw_bench::preload() {
  auto& d = *impl_;
  auto threads = static_cast<uint32_t>(d.slots.size());
  return d.run_threads([&](thread_slot& slot, uint32_t index) {
    auto slice = slice_of(d.opts.keys, threads, index);
    for (auto i = slice.begin; i < slice.end; ++i) {
      try {
        slot.client->put(i);
      } catch (const std::exception& e) {
        ++slot.out.writes.errors;
        note_error(slot.out, std::string{"preload: "} + e.what());
      }
    }
  });
}

run_result raw_bench::measure(double seconds, uint64_t ops) {
  auto& d = *impl_;
  std::atomic<uint64_t> issued{0};
  auto deadline = clock_type::now()
                  + std::chrono::duration_cast<clock_type::duration>(
                    std::chrono::duration<double>(seconds));
  return d.run_threads([&](thread_slot& slot, uint32_t) {
    for (;;) {
      auto start = clock_type::now();
      if (ops > 0 ? issued.fetch_add(1, std::memory_order_relaxed) >= ops
                  : start >= deadline)
        break;
      auto op = slot.ops->next();
      auto& stats = op.read ? slot.out.reads : slot.out.writes;
      try {
        if (op.read) {
          if (!slot.client->get(op.key) && d.opts.warmup_keys) {
            ++stats.errors;
            note_error(slot.out, "read: a preloaded key is missing");
            continue;
          }
        } else {
          slot.client->put(op.key);
        }
      } catch (const std::exception& e) {
        ++stats.errors;
        note_error(slot.out,
                   std::string{op.read ? "read: " : "write: "} + e.what());
        continue;
      }
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  clock_type::now() - start)
                  .count();
      stats.latency.record(static_cast<uint64_t>(ns));
    }
  });
}

} // namespace kv
