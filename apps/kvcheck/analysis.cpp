#include "apps/kvcheck/analysis.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace kv::check {

namespace {

struct window {
  std::string name;
  uint64_t start = 0;
  uint64_t end = UINT64_MAX; // open until its end event (or forever)
  bool covers(uint64_t t) const { return start <= t && t < end; }
};

// Pairs start and end events of the same name and detail into windows.
std::vector<window> windows_of(const std::vector<cluster_event>& events,
                               const std::string& start_type,
                               const std::string& end_type, bool by_detail) {
  std::vector<window> out;
  std::map<std::string, std::vector<std::size_t>> open;
  for (auto& ev : events) {
    auto id = by_detail ? ev.name + "\n" + ev.detail : ev.name;
    if (ev.type == start_type) {
      open[id].push_back(out.size());
      out.push_back(window{ev.name, ev.t_ms});
    } else if (ev.type == end_type && !open[id].empty()) {
      out[open[id].back()].end = ev.t_ms;
      open[id].pop_back();
    }
  }
  return out;
}

// Which phases an operation starting at `t` counts in.
class phase_map {
public:
  explicit phase_map(const std::vector<cluster_event>& events)
    : faults_(windows_of(events, "fault_start", "fault_end", true)),
      downs_(windows_of(events, "node_down", "node_up", false)) {
    for (auto& ev : events)
      if (ev.type == "healed")
        healed_ = std::min(healed_, ev.t_ms);
  }

  std::vector<std::string> phases(uint64_t t) const {
    if (t >= healed_)
      return {"healed"};
    std::vector<std::string> out;
    std::set<std::string> names;
    for (auto& w : faults_)
      if (w.covers(t))
        names.insert(w.name);
    out.push_back(names.empty() ? "steady" : "fault");
    for (auto& name : names)
      out.push_back("fault:" + name);
    return out;
  }

  bool node_down(const std::string& node, uint64_t t) const {
    return std::any_of(downs_.begin(), downs_.end(), [&](const window& w) {
      return w.name == node && w.covers(t);
    });
  }

private:
  std::vector<window> faults_;
  std::vector<window> downs_;
  uint64_t healed_ = UINT64_MAX;
};

void count(phase_stats& s, const op_record& op, bool down) {
  if (down) {
    ++s.to_down_nodes;
    return;
  }
  ++s.ops;
  switch (op.result) {
    case outcome::ok: ++s.ok; break;
    case outcome::failed: ++s.failed; break;
    case outcome::indeterminate: ++s.indeterminate; break;
  }
}

std::string describe(const op_record& op) {
  std::ostringstream out;
  out << op.key << "=" << op.value << " (op " << op.id << " on " << op.node
      << " at " << op.start_ms << ")";
  return out.str();
}

// What the history did to one unique key: its put and delete, if any.
struct unique_key {
  const op_record* put = nullptr;
  const op_record* remove = nullptr;
};

// What the history did to one set key.
struct set_key {
  std::set<std::string> attempted; // every element some write tried to add
  std::vector<const op_record*> acked;
  std::set<uint32_t> writers;
  std::vector<const op_record*> reads;
  // Start times of writes whose outcome is unknown. Such a write may have
  // landed on a replica the writer's next read did not reach; that next
  // write then does not supersede it, so each one can stand as one sibling
  // more than the writers alone explain.
  std::vector<const op_record*> unsure;

  // The most siblings a read that ended at `end_ms` may show.
  std::size_t sibling_bound(uint64_t end_ms) const {
    auto before = std::count_if(unsure.begin(), unsure.end(),
                                [&](auto* op) { return op->start_ms < end_ms; });
    return std::max<std::size_t>(writers.size(), 1)
           + static_cast<std::size_t>(before);
  }

  // The most siblings the final state may show: only unsure writes whose
  // element is there can be one of them.
  std::size_t final_sibling_bound(const std::set<std::string>& present) const {
    auto landed = std::count_if(unsure.begin(), unsure.end(), [&](auto* op) {
      return present.count(op->value) > 0;
    });
    return std::max<std::size_t>(writers.size(), 1)
           + static_cast<std::size_t>(landed);
  }
};

bool contains(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

void check_unique(const std::string& key, const unique_key& k,
                  const key_state& state, check_result& res) {
  if (!k.put)
    return; // a delete of a key never written: the workload does not do it
  bool acked = k.put->result == outcome::ok;
  bool deleted = k.remove && k.remove->result == outcome::ok;
  bool maybe_deleted = k.remove && k.remove->result != outcome::failed;
  if (!state.read_ok) {
    if (acked)
      res.unreadable.push_back(key + ": " + state.read_error);
    return;
  }
  for (auto& v : state.values)
    if (v != k.put->value)
      res.phantoms.push_back(key + "=" + v);
  if (state.values.size() > 1)
    res.sibling_violations.push_back(
      key + ": " + std::to_string(state.values.size())
      + " siblings, 1 writer");
  bool present = contains(state.values, k.put->value);
  if (deleted && present)
    res.resurrected.push_back(describe(*k.remove));
  else if (acked && !maybe_deleted && !present)
    res.lost.push_back(describe(*k.put));
  if (k.put->result == outcome::failed && present)
    ++res.failed_but_visible;
}

void check_set(const std::string& key, const set_key& k, const key_state& state,
               check_result& res) {
  for (auto* read : k.reads) {
    auto bound = k.sibling_bound(read->end_ms);
    if (read->result == outcome::ok && read->siblings > bound)
      res.sibling_violations.push_back(
        key + ": " + std::to_string(read->siblings) + " siblings read by op "
        + std::to_string(read->id) + ", at most " + std::to_string(bound)
        + " expected (" + std::to_string(k.writers.size())
        + " writers and the writes of unknown outcome before it)");
  }
  if (!state.read_ok) {
    if (!k.acked.empty())
      res.unreadable.push_back(key + ": " + state.read_error);
    return;
  }
  std::set<std::string> present;
  for (auto& v : state.values)
    for (auto& e : set_elements(v))
      present.insert(e);
  auto bound = k.final_sibling_bound(present);
  if (state.values.size() > bound)
    res.sibling_violations.push_back(key + ": "
                                     + std::to_string(state.values.size())
                                     + " final siblings, at most "
                                     + std::to_string(bound) + " expected");
  for (auto& e : present)
    if (k.attempted.count(e) == 0)
      res.phantoms.push_back(key + " element " + e);
  for (auto* op : k.acked)
    if (present.count(op->value) == 0)
      res.lost.push_back(describe(*op));
}

std::string json_list(const std::vector<std::string>& xs) {
  std::string out = "[";
  for (std::size_t i = 0; i < xs.size(); ++i)
    out += (i ? "," : "") + json_quote(xs[i]);
  return out + "]";
}

} // namespace

std::vector<std::string> keys_of(const std::vector<op_record>& history) {
  std::set<std::string> keys;
  for (auto& op : history)
    keys.insert(op.key);
  return {keys.begin(), keys.end()};
}

check_result analyse(const std::vector<op_record>& history,
                     const std::vector<cluster_event>& events,
                     const std::map<std::string, key_state>& final_keys,
                     const convergence& replicas,
                     const std::vector<std::string>& incidents,
                     const check_options& opts) {
  check_result res;
  res.replicas = replicas;
  phase_map phases{events};
  std::map<std::string, unique_key> uniques;
  std::map<std::string, set_key> sets;
  for (auto& op : history) {
    ++res.ops;
    bool down = phases.node_down(op.node, op.start_ms);
    for (auto& phase : phases.phases(op.start_ms))
      count(res.phases[phase], op, down);
    auto limit = op.timeout_ms + opts.client_margin_ms + opts.hang_margin_ms;
    if (op.end_ms > op.start_ms && op.end_ms - op.start_ms > limit)
      res.hangs.push_back("op " + std::to_string(op.id) + " on " + op.node
                          + " took "
                          + std::to_string(op.end_ms - op.start_ms) + " ms");
    bool ok = op.result == outcome::ok;
    switch (op.kind) {
      case op_kind::put:
        uniques[op.key].put = &op;
        res.acked_puts += ok;
        break;
      case op_kind::remove:
        uniques[op.key].remove = &op;
        res.acked_removes += ok;
        break;
      case op_kind::set_read:
        sets[op.key].reads.push_back(&op);
        break;
      case op_kind::set_write: {
        auto& k = sets[op.key];
        k.attempted.insert(op.value);
        k.writers.insert(op.worker);
        if (ok) {
          k.acked.push_back(&op);
          ++res.acked_set_adds;
        } else if (op.result == outcome::indeterminate) {
          k.unsure.push_back(&op);
        }
        break;
      }
    }
  }
  static const key_state missing{false, "not read by the checker", {}};
  auto state_of = [&](const std::string& key) -> const key_state& {
    auto i = final_keys.find(key);
    return i == final_keys.end() ? missing : i->second;
  };
  for (auto& [key, k] : uniques)
    check_unique(key, k, state_of(key), res);
  for (auto& [key, k] : sets)
    check_set(key, k, state_of(key), res);
  for (auto& line : incidents) {
    if (line.rfind("hang ", 0) == 0)
      res.hangs.push_back(line.substr(5));
    else if (!line.empty())
      res.crashes.push_back(line.rfind("crash ", 0) == 0 ? line.substr(6)
                                                         : line);
  }
  return res;
}

bool check_result::valid() const {
  return lost.empty() && phantoms.empty() && resurrected.empty()
         && unreadable.empty() && sibling_violations.empty() && hangs.empty()
         && crashes.empty() && replicas.divergent == 0
         && replicas.tombstones_left == 0;
}

std::string check_result::summary() const {
  std::ostringstream out;
  out << (valid() ? "PASS" : "FAIL") << ": " << ops << " ops, " << acked_puts
      << " acked puts, " << acked_removes << " acked deletes, "
      << acked_set_adds << " acked set adds; lost " << lost.size()
      << ", phantom " << phantoms.size() << ", resurrected "
      << resurrected.size() << ", unreadable " << unreadable.size()
      << ", sibling excess " << sibling_violations.size() << ", divergent "
      << replicas.divergent << "/" << replicas.keys << " (converged in "
      << replicas.converge_ms << " ms)";
  if (replicas.reap_waited)
    out << ", tombstones left " << replicas.tombstones_left << "/"
        << replicas.tombstones_seen << " (reaped in " << replicas.reap_ms
        << " ms)";
  out << ", hangs " << hangs.size()
      << ", crashes " << crashes.size();
  for (auto& name : {"fault", "healed"}) {
    auto i = phases.find(name);
    if (i != phases.end())
      out << "; " << name << " errors " << int(i->second.error_rate() * 1000) / 10.0
          << "%";
  }
  return out.str();
}

std::string check_result::to_json() const {
  std::ostringstream out;
  out << "{\n  \"valid\": " << (valid() ? "true" : "false")
      << ",\n  \"summary\": " << json_quote(summary()) << ",\n  \"ops\": "
      << ops << ",\n  \"acked_puts\": " << acked_puts
      << ",\n  \"acked_removes\": " << acked_removes
      << ",\n  \"acked_set_adds\": " << acked_set_adds
      << ",\n  \"failed_but_visible\": " << failed_but_visible
      << ",\n  \"lost\": " << json_list(lost)
      << ",\n  \"phantoms\": " << json_list(phantoms)
      << ",\n  \"resurrected\": " << json_list(resurrected)
      << ",\n  \"unreadable\": " << json_list(unreadable)
      << ",\n  \"sibling_violations\": " << json_list(sibling_violations)
      << ",\n  \"hangs\": " << json_list(hangs)
      << ",\n  \"crashes\": " << json_list(crashes)
      << ",\n  \"convergence\": {\"keys\": " << replicas.keys
      << ", \"divergent\": " << replicas.divergent
      << ", \"converge_ms\": " << replicas.converge_ms
      << ", \"samples\": " << json_list(replicas.samples)
      << ", \"reap_waited\": " << (replicas.reap_waited ? "true" : "false")
      << ", \"tombstones_seen\": " << replicas.tombstones_seen
      << ", \"tombstones_left\": " << replicas.tombstones_left
      << ", \"reap_ms\": " << replicas.reap_ms
      << ", \"tombstone_samples\": " << json_list(replicas.tombstone_samples)
      << "}"
      << ",\n  \"phases\": {";
  bool first = true;
  for (auto& [name, s] : phases) {
    out << (first ? "\n" : ",\n") << "    " << json_quote(name)
        << ": {\"ops\": " << s.ops << ", \"ok\": " << s.ok
        << ", \"failed\": " << s.failed
        << ", \"indeterminate\": " << s.indeterminate
        << ", \"to_down_nodes\": " << s.to_down_nodes
        << ", \"error_rate\": " << s.error_rate() << "}";
    first = false;
  }
  out << "\n  }\n}\n";
  return out.str();
}

} // namespace kv::check
