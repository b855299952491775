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

run_result run_embedded(const bench_options& opts) {
  scratch_dir dir{opts, "embedded"};
  // No middleman: nothing is published, so the run measures the actor
  // layers without the network (and without an idle I/O thread).
  caf::actor_system_config cfg;
  register_message_types(cfg);
  apply_scheduler_options(cfg, opts);
  caf::actor_system sys{cfg};
  node_config nc;
  nc.publish = false;
  nc.port = 0;
  nc.storage.data_dir = dir.path();
  nc.storage.cache_size_mb = opts.cache_mb;
  nc.storage.durability = *parse_durability(opts.durability);
  nc.store_shards = opts.store_shards;
  auto node = node::start(sys, nc);
  auto result = run_actor_clients(sys, node->coordinator(), opts, "embedded");
  node->stop();
  return result;
}

run_result run_remote(const bench_options& opts) {
  client_config cfg;
  apply_scheduler_options(cfg, opts);
  caf::actor_system sys{cfg};
  auto coordinator = connect_to_node(sys, opts.host, opts.port);
  if (!coordinator)
    throw std::runtime_error("cannot reach a node at " + opts.host + ":"
                             + std::to_string(opts.port) + ": "
                             + describe(coordinator.error()));
  return run_actor_clients(sys, *coordinator, opts, "remote");
}

run_result run_mode(const bench_options& opts, const std::string& mode) {
  if (mode == "raw") {
    scratch_dir dir{opts, "raw"};
    return run_raw(opts, dir.path());
  }
  if (mode == "embedded")
    return run_embedded(opts);
  return run_remote(opts);
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
  if (opts.csv_header)
    std::cout << format_csv_header(opts) << std::endl;
  std::vector<run_result> results;
  for (auto& mode : result_modes(opts)) {
    std::cerr << "kvbench: running " << mode << " ..." << std::endl;
    try {
      results.push_back(run_mode(opts, mode));
    } catch (const std::exception& e) {
      std::cerr << "kvbench: " << mode << ": " << e.what() << "\n";
      return 1;
    }
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
  return kv::run(argc, argv);
}
