#include "tests/actors/cluster_fixture.hpp"

#include "actors/key_hash.hpp"

namespace kv::testing {

cluster_fixture::cluster_fixture(std::size_t count, std::vector<std::string> dcs,
                                 tweak adjust)
  : adjust_(std::move(adjust)), dcs_(std::move(dcs)) {
  for (std::size_t i = 0; i < count; ++i) {
    auto n = std::make_unique<test_node>();
    n->running = node::start(n->sys, config_for(i));
    if (i == 0)
      seed_port_ = n->running->port();
    n->client = std::make_unique<blocking_client>(n->sys,
                                                  n->running->coordinator());
    nodes_.push_back(std::move(n));
  }
}

cluster_fixture::~cluster_fixture() {
  for (auto& n : nodes_)
    if (n->running) {
      n->client.reset();
      n->running->stop();
    }
}

node_config cluster_fixture::config_for(std::size_t i) const {
  node_config nc;
  nc.node_id = "n" + std::to_string(i + 1);
  nc.dc = dcs_[i % dcs_.size()];
  nc.port = 0;
  nc.storage.data_dir = (dir_.path / nc.node_id).string();
  nc.storage.cache_size_mb = 8;
  nc.membership.interval = std::chrono::milliseconds{50};
  // Generous detection: a loaded CI machine must not make nodes look down.
  nc.membership.detection.suspect_after = std::chrono::seconds{3};
  nc.membership.detection.down_after = std::chrono::seconds{6};
  nc.membership.detection.report_ttl = std::chrono::seconds{10};
  if (i > 0)
    nc.membership.seeds = {seed_address{"127.0.0.1", seed_port_}};
  if (adjust_)
    adjust_(nc, i);
  return nc;
}

bool cluster_fixture::converged(std::size_t count) {
  return eventually([&] {
    for (auto& n : nodes_) {
      if (!n->running)
        continue;
      caf::scoped_actor self{n->sys};
      bool ok = false;
      self
        ->request(n->running->coordinator(), std::chrono::seconds{5},
                  get_atom::value, ring_atom::value, std::string{"probe"},
                  static_cast<uint32_t>(count))
        .receive(
          [&](const std::vector<std::string>& owners) {
            ok = owners.size() == count;
          },
          [&](caf::error&) {});
      if (!ok)
        return false;
    }
    return true;
  });
}

replica_store_actor cluster_fixture::store_for(std::size_t i,
                                               const std::string& key) {
  auto& stores = nodes_[i]->running->stores();
  return stores[store_shard_of(key, static_cast<uint32_t>(stores.size()))];
}

sibling_list cluster_fixture::stored_on(std::size_t i, const std::string& key) {
  caf::scoped_actor self{nodes_[i]->sys};
  sibling_list result;
  self->request(store_for(i, key), std::chrono::seconds{5}, read_atom::value, key)
    .receive([&](sibling_list& xs) { result = std::move(xs); },
             [&](caf::error& err) {
               throw std::runtime_error("store read failed: "
                                        + describe(err));
             });
  return result;
}

std::vector<member_info> cluster_fixture::members_seen_by(std::size_t i) {
  auto members = client(i).members();
  if (!members)
    throw std::runtime_error("members request failed: "
                             + describe(members.error()));
  return *members;
}

member_status cluster_fixture::status_seen_by(std::size_t i,
                                              const std::string& node_id) {
  for (auto& m : members_seen_by(i))
    if (m.node_id == node_id)
      return m.status;
  throw std::runtime_error(node_id + " is not a member");
}

std::size_t cluster_fixture::index_of(const std::string& node_id) const {
  return std::stoul(node_id.substr(1)) - 1;
}

void cluster_fixture::stop(std::size_t i, bool announce) {
  nodes_[i]->client.reset();
  nodes_[i]->running->stop(announce);
  nodes_[i]->running.reset();
}

std::size_t cluster_fixture::add() {
  auto n = std::make_unique<test_node>();
  n->running = node::start(n->sys, config_for(nodes_.size()));
  n->client = std::make_unique<blocking_client>(n->sys,
                                                n->running->coordinator());
  nodes_.push_back(std::move(n));
  return nodes_.size() - 1;
}

void cluster_fixture::restart(std::size_t i, const node_config& nc) {
  auto& n = *nodes_[i];
  n.running = node::start(n.sys, nc);
  n.client = std::make_unique<blocking_client>(n.sys, n.running->coordinator());
}

versioned_value write_on_one(cluster_fixture& cluster, std::size_t i,
                             const std::string& key, const std::string& value,
                             bool tombstone, bool blind) {
  auto seen = blind ? vector_clock{} : context_of(cluster.stored_on(i, key));
  caf::scoped_actor self{cluster.at(i).sys};
  versioned_value made;
  self
    ->request(cluster.store_for(i, key), std::chrono::seconds{5},
              coordinate_atom::value, key, value, tombstone, false, seen,
              uint64_t{0})
    .receive([&](versioned_value& v, sibling_list&) { made = std::move(v); },
             [&](caf::error& err) {
               throw std::runtime_error("coordinate on one replica: "
                                        + describe(err));
             });
  return made;
}

void apply_on(cluster_fixture& cluster, std::size_t i, const std::string& key,
              const sibling_list& versions) {
  caf::scoped_actor self{cluster.at(i).sys};
  self
    ->request(cluster.store_for(i, key), std::chrono::seconds{30},
              apply_atom::value, key, versions)
    .receive([](ok_atom) {},
             [&](caf::error& err) {
               throw std::runtime_error("apply: " + describe(err));
             });
}

std::vector<std::string> keys(std::size_t count, const std::string& prefix) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i)
    out.push_back(prefix + std::to_string(i));
  return out;
}

} // namespace kv::testing
