#include "bench/report.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace kv {

void op_stats::merge(const op_stats& other) {
  latency.merge(other.latency);
  errors += other.errors;
}

uint64_t run_result::ops() const {
  return reads.latency.count() + writes.latency.count();
}

uint64_t run_result::errors() const {
  return reads.errors + writes.errors;
}

double run_result::ops_per_s() const {
  return elapsed_s > 0 ? static_cast<double>(ops()) / elapsed_s : 0.0;
}

double run_result::cpu_us_per_op() const {
  return ops() > 0 ? cpu_s * 1e6 / static_cast<double>(ops()) : 0.0;
}

void run_result::merge(const run_result& other) {
  reads.merge(other.reads);
  writes.merge(other.writes);
  read_siblings += other.read_siblings;
  max_siblings = std::max(max_siblings, other.max_siblings);
  if (first_error.empty())
    first_error = other.first_error;
}

void run_result::add_window(const run_result& window) {
  merge(window);
  elapsed_s += window.elapsed_s;
  cpu_s += window.cpu_s;
}

double throughput_ratio(const run_result& x, const run_result& y) {
  auto base = y.ops_per_s();
  return base > 0 ? x.ops_per_s() / base : 0.0;
}

double cpu_per_op_ratio(const run_result& x, const run_result& y) {
  auto base = y.cpu_us_per_op();
  return base > 0 ? x.cpu_us_per_op() / base : 0.0;
}

double versions_per_read(const run_result& r) {
  auto reads = r.reads.latency.count();
  return reads > 0 ? static_cast<double>(r.read_siblings)
                       / static_cast<double>(reads)
                   : 0.0;
}

std::vector<std::string> result_modes(const bench_options& opts) {
  if (opts.mode == bench_mode::compare)
    return {"raw", "embedded"};
  return {to_string(opts.mode)};
}

namespace {

std::string fmt(const char* format, double x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, x);
  return buf;
}

std::string us(uint64_t ns) {
  return fmt("%.1f", static_cast<double>(ns) / 1000.0);
}

std::string settings_line(const bench_options& o) {
  std::ostringstream out;
  out << "clients=" << o.clients;
  if (o.raw_clients > 0)
    out << " raw-clients=" << o.raw_clients;
  out << " depth=" << o.depth << " keys=" << o.keys
      << " value-size=" << o.value_size << " read-ratio=" << o.read_ratio
      << " dist=" << to_string(o.dist);
  if (o.ops > 0)
    out << " ops=" << o.ops;
  else
    out << " duration=" << o.duration_s << "s";
  out << " seed=" << o.seed << " warmup-keys=" << (o.warmup_keys ? 1 : 0);
  if (o.mode == bench_mode::compare)
    out << " rounds=" << o.rounds;
  if (o.raw_plain)
    out << " raw-plain";
  if (o.n || o.r || o.w)
    out << " n/r/w=" << o.n << "/" << o.r << "/" << o.w;
  return out.str();
}

void row(std::ostringstream& out, const std::string& mode, const char* op,
         const latency_histogram& h, uint64_t errors, double elapsed_s) {
  char buf[256];
  auto rate = elapsed_s > 0 ? static_cast<double>(h.count()) / elapsed_s : 0.0;
  std::snprintf(buf, sizeof(buf),
                "%-9s %-5s %10llu %11.0f %7llu %9s %9s %9s %9s %9s\n",
                mode.c_str(), op, static_cast<unsigned long long>(h.count()),
                rate, static_cast<unsigned long long>(errors),
                us(h.percentile(50)).c_str(), us(h.percentile(99)).c_str(),
                us(h.percentile(99.9)).c_str(), us(h.max()).c_str(),
                fmt("%.1f", h.mean() / 1000.0).c_str());
  out << buf;
}

} // namespace

std::string format_table(const bench_options& opts,
                         const std::vector<run_result>& results) {
  std::ostringstream out;
  out << "kvbench " << settings_line(opts) << "\n\n";
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "%-9s %-5s %10s %11s %7s %9s %9s %9s %9s %9s\n", "mode", "op",
                "ops", "ops/s", "errors", "p50 us", "p99 us", "p999 us",
                "max us", "mean us");
  out << buf;
  for (auto& r : results) {
    row(out, r.mode, "read", r.reads.latency, r.reads.errors, r.elapsed_s);
    row(out, r.mode, "write", r.writes.latency, r.writes.errors, r.elapsed_s);
    latency_histogram all;
    all.merge(r.reads.latency);
    all.merge(r.writes.latency);
    row(out, r.mode, "all", all, r.errors(), r.elapsed_s);
  }
  out << "\n";
  for (auto& r : results) {
    out << r.mode << ": measured " << fmt("%.2f", r.elapsed_s) << " s, CPU "
        << fmt("%.2f", r.cpu_s) << " s ("
        << fmt("%.2f", r.elapsed_s > 0 ? r.cpu_s / r.elapsed_s : 0.0)
        << " cores, " << fmt("%.1f", r.cpu_us_per_op()) << " us/op)";
    if (r.preloaded > 0)
      out << " after preloading " << r.preloaded << " keys in "
          << fmt("%.2f", r.preload_s) << " s";
    out << "\n";
    if (r.read_siblings > 0)
      out << r.mode << ": gets returned " << fmt("%.2f", versions_per_read(r))
          << " versions per key on average (max " << r.max_siblings << ")\n";
    if (!r.first_error.empty())
      out << r.mode << ": first error: " << r.first_error << "\n";
  }
  if (results.size() == 2) {
    auto& base = results[0];
    auto& other = results[1];
    out << "\n"
        << other.mode << "/" << base.mode << " throughput: "
        << fmt("%.3f", throughput_ratio(other, base)) << "  (" << base.mode
        << " " << fmt("%.0f", base.ops_per_s()) << " ops/s, " << other.mode
        << " " << fmt("%.0f", other.ops_per_s()) << " ops/s)\n"
        << other.mode << "/" << base.mode << " CPU per op: "
        << fmt("%.3f", cpu_per_op_ratio(other, base)) << "  (" << base.mode
        << " " << fmt("%.1f", base.cpu_us_per_op()) << " us, " << other.mode
        << " " << fmt("%.1f", other.cpu_us_per_op()) << " us)\n";
  }
  return out.str();
}

std::string format_csv_header(const bench_options& opts) {
  std::string out = "mode,clients,raw_clients,depth,keys,value_size,"
                    "read_ratio,dist,duration_s,ops_target,rounds,seed,"
                    "warmup_keys,raw_plain";
  for (auto& m : result_modes(opts)) {
    for (auto col : {"elapsed_s", "ops", "ops_per_s", "errors", "cpu_s",
                     "cpu_us_per_op", "read_versions_avg"})
      out += "," + m + "_" + col;
    for (auto op : {"read", "write"})
      for (auto col : {"ops", "p50_us", "p99_us", "p999_us", "max_us"})
        out += "," + m + "_" + op + "_" + col;
  }
  if (opts.mode == bench_mode::compare)
    out += ",ratio_embedded_raw,cpu_per_op_ratio_embedded_raw";
  return out;
}

std::string format_csv_line(const bench_options& o,
                            const std::vector<run_result>& results) {
  std::ostringstream out;
  out << to_string(o.mode) << "," << o.clients << "," << raw_threads(o) << ","
      << o.depth << "," << o.keys << "," << o.value_size << ","
      << o.read_ratio << "," << to_string(o.dist) << "," << o.duration_s
      << "," << o.ops << ","
      << (o.mode == bench_mode::compare ? o.rounds : 1) << "," << o.seed << ","
      << (o.warmup_keys ? 1 : 0) << "," << (o.raw_plain ? 1 : 0);
  for (auto& r : results) {
    out << "," << fmt("%.3f", r.elapsed_s) << "," << r.ops() << ","
        << fmt("%.1f", r.ops_per_s()) << "," << r.errors() << ","
        << fmt("%.3f", r.cpu_s) << "," << fmt("%.2f", r.cpu_us_per_op()) << ","
        << fmt("%.3f", versions_per_read(r));
    for (auto* s : {&r.reads, &r.writes}) {
      auto& h = s->latency;
      out << "," << h.count() << "," << us(h.percentile(50)) << ","
          << us(h.percentile(99)) << "," << us(h.percentile(99.9)) << ","
          << us(h.max());
    }
  }
  if (o.mode == bench_mode::compare && results.size() == 2)
    out << "," << fmt("%.4f", throughput_ratio(results[1], results[0])) << ","
        << fmt("%.4f", cpu_per_op_ratio(results[1], results[0]));
  return out.str();
}

} // namespace kv
