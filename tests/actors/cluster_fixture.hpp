#pragma once

// Several kvactors nodes in one test process: each has its own actor system
// (and middleman), WiredTiger directory and loopback port.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/node.hpp"
#include "tests/actors/bounded_actor_system.hpp"
#include "apps/client/kv_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace kv::testing {

// Why a request failed ("none" if it did not): res.error() of a value is
// undefined, and BOOST_REQUIRE_MESSAGE builds its message eagerly.
template <class T>
std::string why(const caf::expected<T>& res) {
  return res ? std::string{"none"} : describe(res.error());
}


// Polls `done` until it holds or `limit` passes; true if it held. For events
// that have no message to wait on (gossip convergence, background repair).
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds limit
                       = std::chrono::seconds{20}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return true;
}

// Request options asking for n replicas with write and read quorums w, r.
inline request_options replicas(uint32_t n, uint32_t w, uint32_t r) {
  request_options o;
  o.n = n;
  o.w = w;
  o.r = r;
  return o;
}

struct test_node {
  bounded_actor_system system;
  caf::actor_system& sys = system.get();
  std::unique_ptr<node> running;
  std::unique_ptr<blocking_client> client;
};

class cluster_fixture {
public:
  // Adjusts node i's settings before it starts.
  using tweak = std::function<void(node_config&, std::size_t)>;

  // Starts nodes n1..nK; node i is in dcs[i % dcs.size()]; all join via n1.
  explicit cluster_fixture(std::size_t count,
                           std::vector<std::string> dcs = {"dc1", "dc2"},
                           tweak adjust = {});
  ~cluster_fixture();

  test_node& at(std::size_t i) { return *nodes_[i]; }
  blocking_client& client(std::size_t i) { return *nodes_[i]->client; }
  std::size_t size() const { return nodes_.size(); }

  // Waits until every running node knows `count` members and its ring has
  // them all.
  bool converged(std::size_t count);

  // The store serving `key` on node i (as the coordinator picks it).
  replica_store_actor store_for(std::size_t i, const std::string& key);

  // Every stored version of `key` on node i, read from its store directly.
  sibling_list stored_on(std::size_t i, const std::string& key);

  // Index of the node with id `node_id`.
  std::size_t index_of(const std::string& node_id) const;

  // Stops node i's actors (its actor system lives on, as after a crash the
  // peers' proxies would see). With `announce`, as kvnode on SIGTERM: the
  // peers hear it is going down; without, they find out by detection.
  void stop(std::size_t i, bool announce = true);

  node_config config_for(std::size_t i) const;

  // Starts one more node (the next index), which joins through n1; returns
  // its index.
  std::size_t add();

  // Starts node i again (after stop) on its data directory with `nc`.
  void restart(std::size_t i, const node_config& nc);

  // The membership node i's coordinator reports (status = its view).
  std::vector<member_info> members_seen_by(std::size_t i);

  // Status of `node_id` as node i sees it.
  member_status status_seen_by(std::size_t i, const std::string& node_id);

private:
  tweak adjust_;
  temp_dir dir_{"kv_cluster"};
  std::vector<std::string> dcs_;
  uint16_t seed_port_ = 0;
  std::vector<std::unique_ptr<test_node>> nodes_;
};

// Writes a version of `key` on node i's replica only, as if the other
// replicas had missed it (replication lost, a node cut off). It supersedes
// what that replica holds, unless `blind`. Throws if the store refuses.
versioned_value write_on_one(cluster_fixture& cluster, std::size_t i,
                             const std::string& key, const std::string& value,
                             bool tombstone = false, bool blind = false);

// Merges `versions` into node i's replica of `key`. Throws if refused.
void apply_on(cluster_fixture& cluster, std::size_t i, const std::string& key,
              const sibling_list& versions);

// prefix0, prefix1, ...
std::vector<std::string> keys(std::size_t count, const std::string& prefix);

} // namespace kv::testing
