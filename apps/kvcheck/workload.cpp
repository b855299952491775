#include "apps/kvcheck/workload.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "apps/client/kv_client.hpp"
#include "apps/kvcheck/resp_client.hpp"
#include "messages/caf_types.hpp"

namespace kv::check {

namespace {

using std::chrono::milliseconds;

uint64_t now_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(
    duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count());
}

// A connection to one node, made again after a transport error (the node
// was killed and restarted, or stopped answering): CAF does not reconnect.
// Through the node's CAF port, or through its Redis gateway when one is
// given.
class session {
public:
  // Through the Redis gateway when `workload` names one for this node.
  session(caf::actor_system& sys, node_address addr, uint32_t connect_ms,
          const workload_options* workload = nullptr)
    : sys_(sys), addr_(std::move(addr)), connect_ms_(connect_ms) {
    if (workload == nullptr)
      return;
    for (auto& resp : workload->resp_nodes)
      if (resp.id == addr_.id)
        resp_ = std::make_unique<resp_client>(
          resp.host, resp.port, workload->resp_password, workload->request,
          milliseconds{std::max<uint32_t>(workload->request.timeout_ms, 5000)
                       + 5000});
  }

  // Whether a request can be sent now (else `error` says why).
  bool ready(std::string& error) {
    if (resp_) {
      auto err = resp_->ensure_connected();
      if (err)
        error = describe(err);
      return !err;
    }
    return client(error) != nullptr;
  }

  caf::expected<put_result> put(const std::string& key,
                                const std::string& value,
                                const vector_clock& context,
                                const request_options& opts) {
    if (resp_)
      return resp_->put(key, value, context);
    return client_->put(key, value, context, opts);
  }

  // The first write of a key only this worker writes: Redis's SET through
  // the gateway (an overwrite), a blind put through CAF (the same, on a
  // new key).
  caf::expected<put_result> first_write(const std::string& key,
                                        const std::string& value,
                                        const request_options& opts) {
    if (resp_)
      return resp_->set(key, value);
    return client_->put(key, value, {}, opts);
  }

  caf::expected<get_result> get(const std::string& key,
                                const request_options& opts) {
    if (resp_)
      return resp_->get(key);
    return client_->get(key, opts);
  }

  caf::expected<put_result> remove(const std::string& key,
                                   const vector_clock& context,
                                   const request_options& opts) {
    if (resp_)
      return resp_->remove(key);
    return client_->remove(key, context, opts);
  }

  // The client, or nullptr with `error` set when the node cannot be reached.
  blocking_client* client(std::string& error) {
    if (client_)
      return client_.get();
    auto hdl = connect_to_node(sys_, addr_.host, addr_.port,
                               milliseconds{connect_ms_});
    if (!hdl) {
      error = "connect: " + describe(hdl.error());
      return nullptr;
    }
    // With its address, the client connects again by itself after losing
    // the node (killed and restarted, or hung and resumed).
    failover_options reconnect;
    reconnect.connect_limit = milliseconds{connect_ms_};
    client_ = std::make_unique<blocking_client>(
      sys_, std::move(*hdl), endpoint{addr_.host, addr_.port}, reconnect);
    return client_.get();
  }

  // Forgets the connection after an error that is not the store's own (the
  // client's own loss of its node is a kv error; it reconnects itself).
  void after(const caf::error& err) {
    if (resp_)
      return; // the Redis client drops its connection itself
    if (err.category() != error_category || !client_->node())
      client_.reset();
  }

  const node_address& address() const { return addr_; }

private:
  caf::actor_system& sys_;
  node_address addr_;
  uint32_t connect_ms_;
  std::unique_ptr<blocking_client> client_;
  std::unique_ptr<resp_client> resp_;
};

// A write refused before any replica saw it certainly had no effect; any
// other error (a missed quorum, a timeout, a lost connection) may hide a
// write that some replica applied.
outcome write_failure(const caf::error& err) {
  for (auto code : {kv_errc::invalid_argument, kv_errc::key_too_large,
                    kv_errc::value_too_large, kv_errc::too_many_siblings})
    if (is_kv_error(err, code))
      return outcome::failed;
  return outcome::indeterminate;
}

class op_log {
public:
  explicit op_log(std::ostream& out) : out_(out) {
    // nop
  }

  void write(op_record& op) {
    std::lock_guard<std::mutex> guard{mtx_};
    op.id = ++next_id_;
    out_ << to_json(op) << '\n';
    out_.flush();
  }

private:
  std::mutex mtx_;
  std::ostream& out_;
  uint64_t next_id_ = 0;
};

// One client thread bound to one node.
class worker {
public:
  worker(caf::actor_system& sys, const workload_options& opts, uint32_t id,
         const node_address& node, op_log& log)
    : opts_(opts), id_(id), node_(sys, node, opts.connect_ms, &opts),
      log_(log),
      rng_(opts.seed * 1000003u + id) {
    // nop
  }

  void run(uint64_t deadline_ms, bool sets) {
    while (now_ms() < deadline_ms && !stop_asked()) {
      bool ok = sets ? set_step() : unique_step();
      // A node that is down fails fast: do not flood the log meanwhile.
      std::this_thread::sleep_for(milliseconds{ok ? opts_.pause_ms : 100});
    }
  }

private:
  bool stop_asked() const {
    std::error_code ec;
    return !opts_.stop_file.empty()
           && std::filesystem::exists(opts_.stop_file, ec);
  }

  op_record start(op_kind kind, const std::string& key) {
    op_record op;
    op.worker = id_;
    op.kind = kind;
    op.key = key;
    op.node = node_.address().id;
    op.n = opts_.request.n;
    op.r = opts_.request.r;
    op.w = opts_.request.w;
    op.timeout_ms = opts_.request.timeout_ms;
    op.start_ms = now_ms();
    return op;
  }

  // Runs `call` against the node and logs the record; the result on success.
  template <class Result, class Call>
  std::optional<Result> perform(op_record& op, bool write, Call call) {
    std::optional<Result> out;
    std::string error;
    if (node_.ready(error)) {
      caf::expected<Result> res = call(node_);
      if (res) {
        op.result = outcome::ok;
        out = std::move(*res);
      } else {
        op.result = write ? write_failure(res.error()) : outcome::failed;
        op.error = describe(res.error());
        node_.after(res.error());
      }
    } else {
      op.result = outcome::failed; // never sent
      op.error = error;
    }
    op.end_ms = now_ms();
    return out;
  }

  bool unique_step() {
    auto seq = ++seq_;
    auto key = opts_.prefix + "-u" + std::to_string(id_) + "-"
               + std::to_string(seq);
    auto op = start(op_kind::put, key);
    op.value = "v" + std::to_string(id_) + "-" + std::to_string(seq);
    auto put = perform<put_result>(op, true, [&](session& c) {
      return c.first_write(key, op.value, opts_.request);
    });
    log_.write(op);
    if (!put)
      return false;
    if (rng_() % 100 >= opts_.delete_percent)
      return true;
    // With the put's context the tombstone supersedes the value; a blind
    // delete would only add a sibling.
    auto del = start(op_kind::remove, key);
    auto removed = perform<put_result>(del, true, [&](session& c) {
      return c.remove(key, put->context, opts_.request);
    });
    log_.write(del);
    return removed.has_value();
  }

  bool set_step() {
    auto key = opts_.prefix + "-s" + std::to_string(rng_() % opts_.hot_keys);
    auto read = start(op_kind::set_read, key);
    auto got = perform<get_result>(read, false, [&](session& c) {
      return c.get(key, opts_.request);
    });
    if (got)
      read.siblings = static_cast<uint32_t>(got->siblings.size());
    log_.write(read);
    if (!got)
      return false;
    std::set<std::string> elements;
    for (auto& sibling : got->siblings)
      for (auto& e : set_elements(sibling.value))
        elements.insert(e);
    auto write = start(op_kind::set_write, key);
    write.value = "e" + std::to_string(id_) + "-" + std::to_string(++seq_);
    elements.insert(write.value);
    std::string value;
    for (auto& e : elements)
      value += (value.empty() ? "" : " ") + e;
    auto put = perform<put_result>(write, true, [&](session& c) {
      return c.put(key, value, got->context, opts_.request);
    });
    log_.write(write);
    return put.has_value();
  }

  const workload_options& opts_;
  uint32_t id_;
  session node_;
  op_log& log_;
  std::mt19937_64 rng_;
  uint64_t seq_ = 0;
};

// The versions of one replica in a comparable form (order-free). Tombstones
// only and no record at all read the same: reaping turns one into the
// other, one replica at a time.
std::string canonical(const sibling_list& versions) {
  if (std::all_of(versions.begin(), versions.end(),
                  [](auto& v) { return v.tombstone; }))
    return "deleted";
  std::vector<std::string> parts;
  for (auto& v : versions)
    parts.push_back(v.origin.node + ":" + std::to_string(v.origin.counter)
                    + (v.tombstone ? " tombstone" : " " + v.value));
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (auto& p : parts)
    out += p + "; ";
  return out;
}

} // namespace

std::vector<node_address> parse_nodes(const std::string& text,
                                      std::string& error) {
  std::vector<node_address> out;
  std::istringstream in{text};
  std::string item;
  while (std::getline(in, item, ',')) {
    auto eq = item.find('=');
    auto colon = item.rfind(':');
    if (eq == std::string::npos || colon == std::string::npos || colon < eq) {
      error = "bad node '" + item + "' (expected ID=HOST:PORT)";
      return {};
    }
    node_address addr;
    addr.id = item.substr(0, eq);
    addr.host = item.substr(eq + 1, colon - eq - 1);
    auto port = std::stoul(item.substr(colon + 1));
    if (port == 0 || port > 65535) {
      error = "bad port in '" + item + "'";
      return {};
    }
    addr.port = static_cast<uint16_t>(port);
    out.push_back(std::move(addr));
  }
  if (out.empty())
    error = "no nodes given";
  return out;
}

void run_workload(caf::actor_system& sys, const workload_options& opts,
                  std::ostream& log) {
  op_log records{log};
  auto deadline = now_ms() + uint64_t{opts.duration_s} * 1000;
  std::vector<std::unique_ptr<worker>> workers;
  auto total = opts.unique_workers + opts.set_workers;
  for (uint32_t i = 0; i < total; ++i)
    workers.push_back(std::make_unique<worker>(
      sys, opts, i, opts.nodes[i % opts.nodes.size()], records));
  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < total; ++i)
    threads.emplace_back([&, i] {
      workers[i]->run(deadline, i >= opts.unique_workers);
    });
  for (auto& t : threads)
    t.join();
}

namespace {

// The final state of a share of the keys, read on connections of its own:
// shares run in parallel, since each request mostly waits.
struct share {
  std::vector<std::string> keys;
  std::map<std::string, key_state> states;
  std::vector<std::string> divergent; // "key: each owner's copy"
  uint64_t converge_ms = 0;
  uint64_t tombstones_seen = 0;
  std::vector<std::string> tombstones_left; // "key: node"
  uint64_t reap_ms = 0;
};

// Waits until no node holds a record of tombstones only for any of the
// share's keys, or the deadline: deletes end everywhere (issue 10).
void await_reaping(std::map<std::string, std::unique_ptr<session>>& nodes,
                   uint64_t deadline, share& out) {
  auto begin = now_ms();
  std::map<std::string, std::string> holding; // key -> a node holding it
  bool first_pass = true;
  std::set<std::string> pending{out.keys.begin(), out.keys.end()};
  for (;;) {
    holding.clear();
    for (auto& key : pending) {
      for (auto& [id, s] : nodes) {
        // A node that cannot be asked may still hold the tombstones.
        std::string error;
        auto* c = s->client(error);
        if (!c) {
          holding[key] = id + " (unreachable: " + error + ")";
          break;
        }
        auto local = c->local_versions(key);
        if (!local) {
          holding[key] = id + " (" + describe(local.error()) + ")";
          s->after(local.error());
          break;
        }
        if (!local->empty()
            && std::all_of(local->begin(), local->end(),
                           [](auto& v) { return v.tombstone; })) {
          holding[key] = id;
          break;
        }
      }
    }
    if (first_pass)
      out.tombstones_seen = holding.size();
    first_pass = false;
    pending.clear();
    for (auto& [key, id] : holding)
      pending.insert(key);
    if (pending.empty() || now_ms() >= deadline)
      break;
    std::this_thread::sleep_for(milliseconds{500});
  }
  out.reap_ms = now_ms() - begin;
  for (auto& [key, id] : holding)
    out.tombstones_left.push_back(key + ": tombstones on " + id);
}

void read_share(caf::actor_system& sys, const final_options& opts,
                uint64_t begin, uint64_t deadline, share& out) {
  auto& keys = out.keys;
  auto& states = out.states;
  std::map<std::string, std::unique_ptr<session>> nodes;
  for (auto& addr : opts.nodes)
    nodes[addr.id] = std::make_unique<session>(sys, addr, opts.connect_ms);
  auto n = opts.request.n != 0 ? opts.request.n : 3;
  // The owners of a key now, asked of the first node that answers. Asked
  // again every round: a ring change may still be settling when the check
  // starts, and a node that gave a partition up drops its copy.
  auto owners_of = [&](const std::string& key) {
    for (auto& [id, s] : nodes) {
      std::string error;
      auto* c = s->client(error);
      if (!c)
        continue;
      auto pref = c->preference_list(key, n);
      if (pref)
        return std::move(*pref);
      s->after(pref.error());
    }
    return std::vector<std::string>{};
  };
  // Owners' copies compared, polled until they agree or the deadline.
  std::set<std::string> pending{keys.begin(), keys.end()};
  std::map<std::string, std::string> detail;
  for (;;) {
    for (auto i = pending.begin(); i != pending.end();) {
      std::set<std::string> copies;
      std::string text;
      auto ids = owners_of(*i);
      for (auto& id : ids) {
        std::string error;
        auto s = nodes.find(id);
        auto* c = s == nodes.end() ? nullptr : s->second->client(error);
        std::string copy;
        if (!c) {
          copy = "unreachable (" + error + ")";
        } else if (auto local = c->local_versions(*i)) {
          copy = canonical(*local);
        } else {
          copy = "error (" + describe(local.error()) + ")";
          s->second->after(local.error());
        }
        copies.insert(copy);
        text += " " + id + ": [" + copy + "]";
      }
      if (ids.empty())
        text = " no preference list";
      if (copies.size() == 1 && !ids.empty()) {
        i = pending.erase(i);
      } else {
        detail[*i] = text;
        ++i;
      }
    }
    if (pending.empty() || now_ms() >= deadline)
      break;
    std::this_thread::sleep_for(milliseconds{500});
  }
  out.converge_ms = now_ms() - begin;
  for (auto& key : pending)
    out.divergent.push_back(key + ":" + detail[key]);
  if (opts.reap_timeout_s > 0)
    await_reaping(nodes, now_ms() + uint64_t{opts.reap_timeout_s} * 1000, out);
  // The final quorum reads, each tried on up to three nodes.
  std::size_t next = 0;
  std::vector<session*> ring;
  for (auto& [id, s] : nodes)
    ring.push_back(s.get());
  for (auto& key : keys) {
    key_state st;
    for (int attempt = 0; attempt < 3 && !st.read_ok; ++attempt) {
      auto* s = ring[next++ % ring.size()];
      std::string error;
      auto* c = s->client(error);
      if (!c) {
        st.read_error = error;
        continue;
      }
      auto got = c->get(key, opts.request);
      if (!got) {
        st.read_error = describe(got.error());
        s->after(got.error());
        continue;
      }
      st.read_ok = true;
      for (auto& v : got->siblings)
        if (!v.tombstone)
          st.values.push_back(v.value);
    }
    states[key] = std::move(st);
  }
}

} // namespace

convergence read_final_state(caf::actor_system& sys, const final_options& opts,
                             const std::vector<std::string>& keys,
                             std::map<std::string, key_state>& states) {
  constexpr std::size_t max_shares = 8;
  std::vector<share> shares(std::min(max_shares, std::max<std::size_t>(
                                                   keys.size(), 1)));
  for (std::size_t i = 0; i < keys.size(); ++i)
    shares[i % shares.size()].keys.push_back(keys[i]);
  auto begin = now_ms();
  auto deadline = begin + uint64_t{opts.converge_timeout_s} * 1000;
  std::vector<std::thread> threads;
  for (auto& sh : shares)
    threads.emplace_back([&] { read_share(sys, opts, begin, deadline, sh); });
  for (auto& t : threads)
    t.join();
  convergence conv;
  conv.keys = keys.size();
  conv.reap_waited = opts.reap_timeout_s > 0;
  for (auto& sh : shares) {
    states.insert(sh.states.begin(), sh.states.end());
    conv.tombstones_seen += sh.tombstones_seen;
    conv.tombstones_left += sh.tombstones_left.size();
    conv.reap_ms = std::max(conv.reap_ms, sh.reap_ms);
    for (auto& t : sh.tombstones_left)
      if (conv.tombstone_samples.size() < 20)
        conv.tombstone_samples.push_back(t);
    conv.divergent += sh.divergent.size();
    conv.converge_ms = std::max(conv.converge_ms, sh.converge_ms);
    for (auto& d : sh.divergent)
      if (conv.samples.size() < 20)
        conv.samples.push_back(d);
  }
  return conv;
}

} // namespace kv::check
