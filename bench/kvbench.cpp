// kvbench: the load generator of kvactors. See bench_usage() (--help) and
// docs/performance.md.

#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "messages/version.hpp"
#include "actors/node.hpp"
#include "apps/client/kv_client.hpp"
#include "bench/actor_driver.hpp"
#include "bench/bench_options.hpp"
#include "bench/raw_driver.hpp"
#include "bench/report.hpp"
#include "messages/caf_types.hpp"

namespace kv {
namespace {

namespace fs = std::filesystem;

// A fresh data directory for one mode, removed when the run ends (also on
// failure) unless --keep.
class scratch_dir {
public:
  scratch_dir(const bench_options& opts, const std::string& mode)
    : path_(opts.data_dir + "/" + mode + "-" + std::to_string(::getpid())),
      keep_(opts.keep) {
    fs::remove_all(path_);
  }

  ~scratch_dir() {
    std::error_code ec;
    if (keep_)
      std::cerr << "kvbench: kept " << path_ << "\n";
    else
      fs::remove_all(path_, ec);
  }

  const std::string& path() const { return path_; }

private:
  std::string path_;
  bool keep_;
};

// A node started inside this process, in an actor system of its own.
// Members are destroyed in reverse: the node stops before the system ends.
class embedded_node {
public:
  embedded_node(const bench_options& opts, const std::string& data_dir)
    : sys_(configure(cfg_, opts)) {
    node_config nc;
    nc.publish = false;
    nc.port = 0;
    nc.storage.data_dir = data_dir;
    nc.storage.cache_size_mb = opts.cache_mb;
    nc.storage.durability = *parse_durability(opts.durability);
    nc.store_shards = opts.store_shards;
    node_ = node::start(sys_, nc);
  }

  ~embedded_node() {
    if (node_)
      node_->stop();
  }

  caf::actor_system& sys() { return sys_; }
  coordinator_actor coordinator() const { return node_->coordinator(); }

private:
  // No middleman: nothing is published, so the run measures the actor
  // layers without the network (and without an idle I/O thread).
  static caf::actor_system_config& configure(caf::actor_system_config& cfg,
                                             const bench_options& opts) {
    register_message_types(cfg);
    apply_scheduler_options(cfg, opts);
    return cfg;
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_;
  std::unique_ptr<node> node_;
};

void progress(const std::string& what) {
  std::cerr << "kvbench: " << what << std::endl;
}

// Preload (if asked) and measure one side in a single window.
template <class Bench>
run_result preload_and_measure(Bench& bench, const bench_options& opts,
                               const std::string& mode) {
  run_result preload;
  if (opts.warmup_keys) {
    progress(mode + ": preloading " + std::to_string(opts.keys) + " keys");
    preload = bench.preload();
  }
  progress(mode + ": measuring");
  auto result = bench.measure(opts.duration_s, opts.ops);
  result.mode = mode;
  if (opts.warmup_keys) {
    result.preloaded = opts.keys;
    result.preload_s = preload.elapsed_s;
    if (preload.errors() > 0)
      result.first_error = "preload: " + std::to_string(preload.errors())
                           + " puts failed, first: " + preload.first_error;
  }
  return result;
}

// Both sides open at once, each preloaded, then measured in alternating
// windows so that load from other tenants falls on both alike.
std::vector<run_result> run_compare(const bench_options& opts) {
  scratch_dir raw_dir{opts, "raw"};
  scratch_dir node_dir{opts, "embedded"};
  raw_bench raw{opts, raw_dir.path()};
  embedded_node node{opts, node_dir.path()};
  actor_bench embedded{node.sys(), node.coordinator(), opts, "embedded"};
  std::vector<run_result> results(2);
  results[0].mode = "raw";
  results[1].mode = "embedded";
  if (opts.warmup_keys) {
    progress("preloading " + std::to_string(opts.keys) + " keys (raw)");
    auto p = raw.preload();
    progress("preloading " + std::to_string(opts.keys) + " keys (embedded)");
    auto q = embedded.preload();
    for (auto [r, pre] : {std::pair{&results[0], &p}, {&results[1], &q}}) {
      r->preloaded = opts.keys;
      r->preload_s = pre->elapsed_s;
      if (pre->errors() > 0)
        r->first_error = "preload: " + std::to_string(pre->errors())
                         + " puts failed, first: " + pre->first_error;
    }
  }
  auto window_s = opts.duration_s / opts.rounds;
  for (uint32_t i = 0; i < opts.rounds; ++i) {
    // The last window takes the remainder so the windows add up to --ops.
    auto window_ops = opts.ops / opts.rounds
                      + (i + 1 == opts.rounds ? opts.ops % opts.rounds : 0);
    progress("round " + std::to_string(i + 1) + "/"
             + std::to_string(opts.rounds));
    results[0].add_window(raw.measure(window_s, window_ops));
    results[1].add_window(embedded.measure(window_s, window_ops));
  }
  return results;
}

run_result run_single(const bench_options& opts) {
  switch (opts.mode) {
    case bench_mode::raw: {
      scratch_dir dir{opts, "raw"};
      raw_bench raw{opts, dir.path()};
      return preload_and_measure(raw, opts, "raw");
    }
    case bench_mode::embedded: {
      scratch_dir dir{opts, "embedded"};
      embedded_node node{opts, dir.path()};
      actor_bench bench{node.sys(), node.coordinator(), opts, "embedded"};
      return preload_and_measure(bench, opts, "embedded");
    }
    default: {
      client_config cfg;
      apply_scheduler_options(cfg, opts);
      if (auto problem = cfg.use_tls(tls_files_from_env()))
        throw std::runtime_error(*problem);
      caf::actor_system sys{cfg};
      auto coordinator = connect_to_node(sys, opts.host, opts.port);
      if (!coordinator)
        throw std::runtime_error("cannot reach a node at " + opts.host + ":"
                                 + std::to_string(opts.port) + ": "
                                 + describe(coordinator.error()));
      actor_bench bench{sys, *coordinator, opts, "remote"};
      return preload_and_measure(bench, opts, "remote");
    }
  }
}

int run(int argc, char** argv) {
  auto parsed = parse_bench_options({argv + 1, argv + argc});
  if (parsed.error) {
    std::cerr << "kvbench: " << *parsed.error << "\n";
    return 2;
  }
  auto& opts = parsed.opts;
  if (opts.help) {
    std::cout << bench_usage();
    return 0;
  }
  if (opts.csv_header) {
    std::cout << format_csv_header(opts) << std::endl;
    return 0;
  }
  std::vector<run_result> results;
  try {
    if (opts.mode == bench_mode::compare)
      results = run_compare(opts);
    else
      results.push_back(run_single(opts));
  } catch (const std::exception& e) {
    std::cerr << "kvbench: " << to_string(opts.mode) << ": " << e.what()
              << "\n";
    return 1;
  }
  if (opts.csv)
    std::cout << format_csv_line(opts, results) << std::endl;
  else
    std::cout << format_table(opts, results) << std::flush;
  return 0;
}

} // namespace
} // namespace kv

int main(int argc, char** argv) {
  if (kv::print_version_if_asked(argc, argv, "kvbench"))
    return 0;
  return kv::run(argc, argv);
}
