#include "actors/metrics/exposition.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace kv {

namespace {

// Label values escape backslash, quote and newline (the text format's rule).
std::string label_value(const std::string& raw) {
  std::string out;
  for (char c : raw) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", x);
  return buf;
}

class metrics_writer {
public:
  // A metric family: its HELP and TYPE once, then samples.
  metrics_writer& family(const char* name, const char* type,
                         const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
    return *this;
  }

  metrics_writer& sample(const std::string& name, const std::string& labels,
                         double value) {
    out_ += name;
    if (!labels.empty())
      out_ += "{" + labels + "}";
    out_ += ' ' + number(value) + '\n';
    return *this;
  }

  metrics_writer& single(const char* name, const char* type, const char* help,
                         double value) {
    return family(name, type, help).sample(name, "", value);
  }

  std::string take() { return std::move(out_); }

private:
  std::string out_;
};

struct op_entry {
  const char* label;
  const operation_figures* figures;
};

std::string html_escape(const std::string& raw) {
  std::string out;
  for (char c : raw) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MiB",
                static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

std::string per_second(double rate) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", rate);
  return buf;
}

std::string ms(uint64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f ms", static_cast<double>(us) / 1000.0);
  return buf;
}

} // namespace

std::string prometheus_text(const node_stats& s,
                            const std::vector<member_info>& members) {
  metrics_writer w;
  w.family("kv_node_info", "gauge", "This node's id and data centre.")
    .sample("kv_node_info",
            "node=\"" + label_value(s.node_id) + "\",dc=\""
              + label_value(s.dc) + "\"",
            1);
  w.single("kv_uptime_seconds", "gauge", "Seconds since the node started.",
           static_cast<double>(s.uptime_s));
  const op_entry ops[] = {{"get", &s.get}, {"put", &s.put}, {"delete", &s.del}};
  w.family("kv_requests_total", "counter",
           "Client requests this node coordinated, by operation.");
  for (auto& op : ops)
    w.sample("kv_requests_total", std::string{"op=\""} + op.label + "\"",
             static_cast<double>(op.figures->requests));
  w.family("kv_request_errors_total", "counter",
           "Requests answered with an error, by operation and kind "
           "(quorum: R or W not reached; unavailable: no replica reachable).");
  for (auto& op : ops) {
    auto other = op.figures->errors - op.figures->quorum_failures
                 - op.figures->unavailable;
    auto labels = std::string{"op=\""} + op.label + "\",kind=\"";
    w.sample("kv_request_errors_total", labels + "quorum\"",
             static_cast<double>(op.figures->quorum_failures));
    w.sample("kv_request_errors_total", labels + "unavailable\"",
             static_cast<double>(op.figures->unavailable));
    w.sample("kv_request_errors_total", labels + "other\"",
             static_cast<double>(other));
  }
  w.family("kv_request_duration_seconds", "summary",
           "Request latency: quantiles over the last minute, sum and count "
           "since the start.");
  for (auto& op : ops) {
    auto& f = *op.figures;
    auto base = std::string{"op=\""} + op.label + "\"";
    const std::pair<const char*, uint64_t> quantiles[]
      = {{"0.5", f.p50_us}, {"0.9", f.p90_us}, {"0.99", f.p99_us},
         {"0.999", f.p999_us}};
    for (auto& [q, us] : quantiles)
      w.sample("kv_request_duration_seconds",
               base + ",quantile=\"" + q + "\"",
               f.window_requests == 0 ? 0.0 : static_cast<double>(us) / 1e6);
    w.sample("kv_request_duration_seconds_sum", base, f.latency_sum_s);
    w.sample("kv_request_duration_seconds_count", base,
             static_cast<double>(f.requests));
  }
  // Metrics of one sample, without labels.
  struct plain_metric {
    const char* name;
    const char* type;
    const char* help;
    uint64_t value;
  };
  auto& st = s.store;
  auto& e = st.engine;
  const plain_metric plain[] = {
    {"kv_read_repairs_total", "counter",
     "Replicas sent newer versions after a read.",
     s.read_repairs},
    {"kv_sibling_reads_total", "counter",
     "Gets that returned more than one sibling.",
     s.sibling_reads},
    {"kv_hints_held", "gauge",
     "Hints this node holds for unreachable owners.",
     s.hints.held},
    {"kv_hints_held_bytes", "gauge",
     "Bytes of the hints held.",
     s.hints.held_bytes},
    {"kv_hints_stored_total", "counter",
     "Hints accepted.",
     s.hints.stored},
    {"kv_hints_delivered_total", "counter",
     "Hints delivered to their owners.",
     s.hints.delivered},
    {"kv_hints_expired_total", "counter",
     "Hints dropped because they outlived the hint window.",
     s.hints.expired},
    {"kv_hints_rejected_total", "counter",
     "Hints their owner refused as invalid (set aside).",
     s.hints.rejected},
    {"kv_keys", "gauge",
     "Keys of the partitions this node holds, deleted ones included until reaped (see kv_keys_counted).",
     st.keys},
    {"kv_keys_counted", "gauge",
     "1 once every held partition's keys are counted, else 0.",
     st.keys_complete ? 1u : 0u},
    {"kv_tombstones", "gauge",
     "Keys whose versions are all deletes, waiting to be reaped.",
     st.tombstones},
    {"kv_sibling_warnings_total", "counter",
     "Writes that left a key above the sibling warning level.",
     st.sibling_warnings},
    {"kv_corrupt_records_total", "counter",
     "Stored records that failed their checksum.",
     st.corrupt_records},
    {"kv_disk_bytes", "gauge",
     "Bytes in the node's data directory.",
     s.disk_bytes},
    {"kv_wt_cache_bytes", "gauge",
     "WiredTiger cache in use.",
     e.cache_bytes},
    {"kv_wt_cache_max_bytes", "gauge",
     "WiredTiger cache size.",
     e.cache_max_bytes},
    {"kv_wt_cache_dirty_bytes", "gauge",
     "Modified bytes in the WiredTiger cache.",
     e.cache_dirty_bytes},
    {"kv_wt_pages_read_total", "counter",
     "Pages WiredTiger read into its cache.",
     e.pages_read},
    {"kv_wt_pages_written_total", "counter",
     "Pages WiredTiger wrote from its cache.",
     e.pages_written},
    {"kv_wt_read_bytes_total", "counter",
     "Bytes WiredTiger's block manager read.",
     e.bytes_read},
    {"kv_wt_written_bytes_total", "counter",
     "Bytes WiredTiger's block manager wrote.",
     e.bytes_written},
    {"kv_wt_checkpoints_total", "counter",
     "WiredTiger checkpoints.",
     e.checkpoints},
    {"kv_handoff_partitions_pending", "gauge",
     "Partitions this node still has to copy in for a ring change.",
     s.handoff_partitions > s.handoff_copied ? s.handoff_partitions - s.handoff_copied : 0},
    {"kv_handoff_bytes", "gauge",
     "Bytes copied in for the ring change in progress.",
     s.handoff_bytes},
    {"kv_aae_partitions", "gauge",
     "Partitions this node holds (anti-entropy).",
     s.aae_partitions},
    {"kv_aae_partitions_compared", "gauge",
     "Held partitions compared with another replica at least once.",
     s.aae_compared},
    {"kv_aae_keys_repaired_total", "counter",
     "Keys anti-entropy repaired.",
     s.aae_keys_repaired},
    {"kv_aae_bytes_total", "counter",
     "Bytes anti-entropy moved.",
     s.aae_bytes},
    {"kv_tombstones_reaped_total", "counter",
     "Keys whose tombstones every node dropped.",
     s.reaping.reaped},
  };
  for (auto& m : plain)
    w.single(m.name, m.type, m.help, static_cast<double>(m.value));
  std::map<std::string, int> by_status{
    {"up", 0}, {"suspect", 0}, {"down", 0}, {"leaving", 0}};
  for (auto& m : members)
    ++by_status[to_string(m.status)];
  w.family("kv_members", "gauge",
           "Members as this node sees them, by status.");
  for (auto& [status, count] : by_status)
    w.sample("kv_members", "status=\"" + label_value(status) + "\"", count);
  return w.take();
}

std::string status_page(const node_stats& s, std::vector<member_info> members,
                        const ring_state& ring) {
  std::sort(members.begin(), members.end(),
            [](const member_info& x, const member_info& y) {
              return x.node_id < y.node_id;
            });
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta http-equiv=\"refresh\" content=\"5\">"
       "<title>kvactors " + html_escape(s.node_id) + "</title><style>"
       "body{font-family:sans-serif;margin:2em;color:#222}"
       "table{border-collapse:collapse;margin-bottom:1.5em}"
       "th,td{border:1px solid #ccc;padding:.3em .7em;text-align:right}"
       "th{background:#f0f0f0}td.l,th.l{text-align:left}"
       ".up{color:#070}.down{color:#b00}.suspect,.leaving{color:#a60}"
       "</style></head><body>\n";
  h += "<h1>kvactors node " + html_escape(s.node_id) + " ("
       + html_escape(s.dc) + ")</h1>\n";
  h += "<p>up " + std::to_string(s.uptime_s) + " s. Ring version "
       + std::to_string(ring.version) + ": "
       + std::to_string(ring.partitions) + " partitions &times; "
       + std::to_string(ring.replicas) + " replicas"
       + (ring.transition != 0 ? ", a change in transfer" : "")
       + ". Metrics for Prometheus: <a href=\"/metrics\">/metrics</a>.</p>\n";
  h += "<h2>Nodes</h2>\n<table id=\"nodes\"><tr><th class=\"l\">node</th>"
       "<th class=\"l\">dc</th><th class=\"l\">address</th>"
       "<th class=\"l\">status</th><th>ops/s</th><th>p99</th><th>keys</th>"
       "<th>disk</th><th>hints</th><th>transfers</th><th>ring</th></tr>\n";
  for (auto& m : members) {
    auto status = std::string{to_string(m.status)};
    auto& l = m.load;
    bool measured = l.measured_ms != 0;
    h += "<tr><td class=\"l\">" + html_escape(m.node_id) + "</td><td class=\"l\">"
         + html_escape(m.dc) + "</td><td class=\"l\">"
         + html_escape(m.host + ":" + std::to_string(m.port))
         + "</td><td class=\"l " + status + "\">" + status + "</td><td>"
         + (measured ? std::to_string(l.ops_per_s) : "?") + "</td><td>"
         + (measured && l.p99_us > 0 ? ms(l.p99_us) : "-") + "</td><td>"
         + (measured ? (l.keys_complete ? "" : "~") + std::to_string(l.keys)
                     : "?")
         + "</td><td>" + (measured ? mib(l.disk_bytes) : "?") + "</td><td>"
         + (measured ? std::to_string(l.hints) : "?") + "</td><td>"
         + (measured ? std::to_string(l.transfers) : "?") + "</td><td>v"
         + std::to_string(m.ring_epoch) + "</td></tr>\n";
  }
  h += "</table>\n<h2>Requests of this node (last minute)</h2>\n"
       "<table id=\"requests\"><tr><th class=\"l\">operation</th>"
       "<th>total</th><th>errors</th><th>per s</th><th>p50</th><th>p99</th>"
       "<th>p99.9</th></tr>\n";
  const op_entry ops[] = {{"get", &s.get}, {"put", &s.put}, {"delete", &s.del}};
  for (auto& op : ops) {
    auto& f = *op.figures;
    auto lat = [&](uint64_t us) {
      return f.window_requests == 0 ? std::string{"-"} : ms(us);
    };
    h += std::string{"<tr><td class=\"l\">"} + op.label + "</td><td>"
         + std::to_string(f.requests) + "</td><td>" + std::to_string(f.errors)
         + "</td><td>" + per_second(f.per_s) + "</td><td>" + lat(f.p50_us)
         + "</td><td>" + lat(f.p99_us) + "</td><td>" + lat(f.p999_us)
         + "</td></tr>\n";
  }
  h += "</table>\n<h2>This node</h2>\n<table id=\"node\">";
  auto row = [&](const std::string& name, const std::string& value) {
    h += "<tr><th class=\"l\">" + name + "</th><td class=\"l\">"
         + html_escape(value) + "</td></tr>\n";
  };
  row("hints", std::to_string(s.hints.held) + " held, "
                 + std::to_string(s.hints.delivered) + " delivered, "
                 + std::to_string(s.hints.expired) + " expired");
  row("keys", (s.store.keys_complete ? "" : "~")
                + std::to_string(s.store.keys) + " ("
                + std::to_string(s.store.tombstones) + " deleted)");
  row("disk", mib(s.disk_bytes));
  row("cache", mib(s.store.engine.cache_bytes) + " of "
                 + mib(s.store.engine.cache_max_bytes));
  row("transfers",
      s.handoff_partitions > s.handoff_copied
        ? std::to_string(s.handoff_copied) + " of "
            + std::to_string(s.handoff_partitions) + " partitions copied"
        : std::string{"none in progress"});
  row("anti-entropy", std::to_string(s.aae_compared) + " of "
                        + std::to_string(s.aae_partitions)
                        + " partitions compared, "
                        + std::to_string(s.aae_keys_repaired)
                        + " keys repaired");
  row("tombstone reaping", s.reaping.state + ", "
                             + std::to_string(s.reaping.reaped)
                             + " keys reaped");
  h += "</table>\n</body></html>\n";
  return h;
}

} // namespace kv
