// aaebench: what active anti-entropy moves to repair d differing keys among M
// (docs/anti-entropy.md). Two nodes in one process, every partition on both:
// M identical keys loaded straight into both nodes' stores, trees built and
// compared once, then d keys changed on one node only and one forced round
// of exchanges (`repair`) run; the syncer's byte counts (hashes, digests and
// versions, both directions) are read before and after.
//
//   aaebench [--keys=M] [--diffs=1,10,1000] [--value-bytes=100]
//            [--partitions=1024] [--dir=PATH]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <unistd.h>

#include "messages/version.hpp"
#include "actors/key_hash.hpp"
#include "actors/log.hpp"
#include "actors/node.hpp"
#include "apps/client/kv_client.hpp"
#include "messages/caf_types.hpp"

using namespace kv;
using namespace std::chrono;

namespace {

struct options {
  uint64_t keys = 1000000;
  std::vector<uint64_t> diffs{1, 10, 1000};
  std::size_t value_bytes = 100;
  uint32_t partitions = 1024;
  std::string dir;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = arg.substr(arg.find('=') + 1);
    if (arg.rfind("--keys=", 0) == 0)
      o.keys = std::stoull(value);
    else if (arg.rfind("--value-bytes=", 0) == 0)
      o.value_bytes = std::stoull(value);
    else if (arg.rfind("--partitions=", 0) == 0)
      o.partitions = static_cast<uint32_t>(std::stoul(value));
    else if (arg.rfind("--dir=", 0) == 0)
      o.dir = value;
    else if (arg.rfind("--diffs=", 0) == 0) {
      o.diffs.clear();
      std::stringstream in{value};
      for (std::string d; std::getline(in, d, ',');)
        o.diffs.push_back(std::stoull(d));
    } else {
      std::cerr << "usage: aaebench [--keys=M] [--diffs=1,10,1000] "
                   "[--value-bytes=100] [--partitions=1024] [--dir=PATH]\n";
      std::exit(2);
    }
  }
  return o;
}

struct bench_node {
  client_config cfg;
  caf::actor_system sys{cfg};
  std::unique_ptr<node> running;
  std::unique_ptr<blocking_client> client;
};

std::string key_of(uint64_t i) {
  return "user:" + std::to_string(i);
}

replica_store_actor store_for(bench_node& n, const std::string& key) {
  auto& stores = n.running->stores();
  return stores[store_shard_of(key, static_cast<uint32_t>(stores.size()))];
}

// Loads keys [0, count) with the same single version on every node.
void load(std::vector<bench_node*> nodes, uint64_t count,
          std::size_t value_bytes) {
  versioned_value v;
  v.origin = dot{"loader", 1};
  v.timestamp_ms = 1;
  v.value.assign(value_bytes, 'x');
  sibling_list list{v};
  for (auto* n : nodes) {
    caf::scoped_actor self{n->sys};
    for (uint64_t i = 0; i < count; ++i) {
      auto key = key_of(i);
      caf::anon_send(store_for(*n, key), apply_atom::value, key, list);
      // A request behind every 4096 sends keeps the mailboxes bounded.
      if (i % 4096 == 4095 || i + 1 == count)
        for (auto& store : n->running->stores())
          self->request(store, seconds{60}, stats_atom::value)
            .receive([](store_stats&) {}, [](caf::error&) {});
    }
  }
}

struct round_result {
  uint64_t bytes = 0;
  uint64_t digest_bytes = 0;
  uint64_t repaired = 0;
  uint64_t compared = 0;
  double seconds = 0;
};

// Forces an exchange of every partition and waits until each has been
// compared after `since_ms`; sums what the node's syncer counted.
round_result repair_round(bench_node& n) {
  auto before = n.client->anti_entropy();
  uint64_t bytes0 = 0, digests0 = 0, repaired0 = 0;
  for (auto& row : *before) {
    bytes0 += row.bytes;
    digests0 += row.digest_bytes;
    repaired0 += row.keys_repaired;
  }
  auto since = wall_clock_ms();
  auto start = steady_clock::now();
  auto reply = n.client->repair("");
  if (!reply) {
    std::cerr << "repair failed: " << describe(reply.error()) << "\n";
    std::exit(1);
  }
  round_result r;
  for (;;) {
    auto rows = n.client->anti_entropy();
    std::size_t done = 0;
    r.bytes = r.digest_bytes = r.repaired = 0;
    for (auto& row : *rows) {
      done += row.last_exchange_ms >= since ? 1 : 0;
      r.bytes += row.bytes;
      r.digest_bytes += row.digest_bytes;
      r.repaired += row.keys_repaired;
    }
    r.compared = done;
    if (done == rows->size())
      break;
    std::this_thread::sleep_for(milliseconds{50});
  }
  r.seconds = duration<double>(steady_clock::now() - start).count();
  r.bytes -= bytes0;
  r.digest_bytes -= digests0;
  r.repaired -= repaired0;
  return r;
}

} // namespace

int main(int argc, char** argv) {
  if (kv::print_version_if_asked(argc, argv, "aaebench"))
    return 0;
  auto o = parse(argc, argv);
  auto dir = o.dir.empty() ? std::filesystem::temp_directory_path()
                               / ("aaebench-" + std::to_string(::getpid()))
                           : std::filesystem::path{o.dir};
  std::filesystem::remove_all(dir);
  std::vector<std::unique_ptr<bench_node>> nodes;
  uint16_t seed_port = 0;
  for (int i = 0; i < 2; ++i) {
    node_config nc;
    nc.node_id = "n" + std::to_string(i + 1);
    nc.dc = "dc" + std::to_string(i + 1);
    nc.port = 0;
    nc.storage.data_dir = (dir / nc.node_id).string();
    nc.storage.cache_size_mb = 512;
    nc.ring.partitions = o.partitions;
    nc.ring.replicas = 2;
    nc.ring.initial_members = {"n1", "n2"};
    nc.consistency.n = 2;
    nc.consistency.r = 1;
    nc.consistency.w = 1;
    nc.aae_interval = milliseconds{0}; // only the forced rounds below
    nc.membership.interval = milliseconds{100};
    if (i > 0)
      nc.membership.seeds = {seed_address{"127.0.0.1", seed_port}};
    auto n = std::make_unique<bench_node>();
    n->running = node::start(n->sys, nc);
    if (i == 0)
      seed_port = n->running->port();
    n->client = std::make_unique<blocking_client>(n->sys,
                                                  n->running->coordinator());
    nodes.push_back(std::move(n));
  }
  auto& a = *nodes[0];
  auto& b = *nodes[1];
  // Both nodes in the ring and up on both sides.
  for (;;) {
    auto owners = a.client->preference_list("probe", 2);
    auto rows = a.client->anti_entropy();
    auto queued = a.client->repair("n2");
    if (owners && owners->size() == 2 && rows && !rows->empty() && queued
        && queued->find("queued") != std::string::npos)
      break;
    std::this_thread::sleep_for(milliseconds{100});
  }
  auto t0 = steady_clock::now();
  load({&a, &b}, o.keys, o.value_bytes);
  std::printf("loaded %llu keys of %zu-byte values on both nodes in %.1f s\n",
              static_cast<unsigned long long>(o.keys), o.value_bytes,
              duration<double>(steady_clock::now() - t0).count());
  // Compared once after the load (trees were built empty and kept current
  // by every write): nothing to repair.
  auto warm = repair_round(a);
  std::printf("first round after the load (%llu partitions): %.1f s, %llu keys "
              "repaired, %llu bytes\n",
              static_cast<unsigned long long>(warm.compared), warm.seconds,
              static_cast<unsigned long long>(warm.repaired),
              static_cast<unsigned long long>(warm.bytes));
  auto idle = repair_round(a);
  std::printf("round with no difference: %.2f s, %llu bytes (%.1f per "
              "partition)\n",
              idle.seconds, static_cast<unsigned long long>(idle.bytes),
              static_cast<double>(idle.bytes) / static_cast<double>(idle.compared));
  std::printf("\n| M | d | keys repaired | bytes moved | of which versions | versions per key | goal 3 x record | hashes and digests over an idle round | per key |\n|---|---|---|---|---|---|---|---|---|\n");
  uint64_t next_key = 0;
  auto record = o.value_bytes + key_of(o.keys).size() + 40;
  for (auto d : o.diffs) {
    // d keys changed on node 1 only, spread over the key space.
    caf::scoped_actor self{a.sys};
    for (uint64_t j = 0; j < d; ++j) {
      auto key = key_of((next_key++ * 7919) % o.keys);
      sibling_list stored;
      self->request(store_for(a, key), seconds{10}, read_atom::value, key)
        .receive([&](sibling_list& s) { stored = std::move(s); },
                 [](caf::error&) {});
      self
        ->request(store_for(a, key), seconds{10}, coordinate_atom::value, key,
                  std::string(o.value_bytes, 'y'), false, false,
                  context_of(stored),
                  uint64_t{0})
        .receive([](versioned_value&, sibling_list&) {}, [](caf::error&) {});
    }
    auto r = repair_round(a);
    auto versions = r.bytes - r.digest_bytes;
    auto hashes = r.digest_bytes > idle.digest_bytes
                    ? r.digest_bytes - idle.digest_bytes
                    : 0;
    std::printf("| %llu | %llu | %llu | %llu | %llu | %.0f | %llu | %llu | %.0f |\n",
                static_cast<unsigned long long>(o.keys),
                static_cast<unsigned long long>(d),
                static_cast<unsigned long long>(r.repaired),
                static_cast<unsigned long long>(r.bytes),
                static_cast<unsigned long long>(versions),
                static_cast<double>(versions) / static_cast<double>(d),
                static_cast<unsigned long long>(3 * record),
                static_cast<unsigned long long>(hashes),
                static_cast<double>(hashes) / static_cast<double>(d));
  }
  for (auto& n : nodes) {
    n->client.reset();
    n->running->stop();
  }
  std::filesystem::remove_all(dir);
  return 0;
}
