#include "bench/bench_options.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <string_view>

#include "messages/limits.hpp"

namespace kv {

const char* to_string(bench_mode x) {
  switch (x) {
    case bench_mode::raw:
      return "raw";
    case bench_mode::embedded:
      return "embedded";
    case bench_mode::remote:
      return "remote";
    case bench_mode::compare:
      return "compare";
  }
  return "?";
}

namespace {

template <class T>
bool parse_unsigned(std::string_view text, T& out) {
  uint64_t value = 0;
  if (text.empty())
    return false;
  auto res = std::from_chars(text.data(), text.data() + text.size(), value);
  if (res.ec != std::errc{} || res.ptr != text.data() + text.size()
      || value > std::numeric_limits<T>::max())
    return false;
  out = static_cast<T>(value);
  return true;
}

bool parse_double(std::string_view text, double& out) {
  if (text.empty())
    return false;
  std::string copy{text};
  char* end = nullptr;
  auto value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value))
    return false;
  out = value;
  return true;
}

bool parse_bool(std::string_view text, bool& out) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") {
    out = true;
    return true;
  }
  if (text == "false" || text == "0" || text == "no" || text == "off") {
    out = false;
    return true;
  }
  return false;
}

// One option: how to store its text, and whether it may stand alone.
struct option_spec {
  bool flag;
  std::function<bool(bench_options&, std::string_view)> set;
  const char* expected; // what a valid value looks like, for the error line
};

template <class T>
option_spec number(T bench_options::*field) {
  return {false,
          [field](bench_options& o, std::string_view v) {
            return parse_unsigned(v, o.*field);
          },
          "a non-negative integer"};
}

option_spec real(double bench_options::*field) {
  return {false,
          [field](bench_options& o, std::string_view v) {
            return parse_double(v, o.*field);
          },
          "a number"};
}

option_spec text(std::string bench_options::*field) {
  return {false,
          [field](bench_options& o, std::string_view v) {
            o.*field = std::string{v};
            return true;
          },
          "text"};
}

option_spec flag(bool bench_options::*field) {
  return {true,
          [field](bench_options& o, std::string_view v) {
            return parse_bool(v, o.*field);
          },
          "true or false"};
}

const std::map<std::string, option_spec, std::less<>>& option_table() {
  static const std::map<std::string, option_spec, std::less<>> table{
    {"mode",
     {false,
      [](bench_options& o, std::string_view v) {
        for (auto m : {bench_mode::raw, bench_mode::embedded,
                       bench_mode::remote, bench_mode::compare})
          if (v == to_string(m)) {
            o.mode = m;
            return true;
          }
        return false;
      },
      "raw, embedded, remote or compare"}},
    {"clients", number(&bench_options::clients)},
    {"raw-clients", number(&bench_options::raw_clients)},
    {"depth", number(&bench_options::depth)},
    {"rate", real(&bench_options::rate)},
    {"keys", number(&bench_options::keys)},
    {"value-size", number(&bench_options::value_size)},
    {"read-ratio", real(&bench_options::read_ratio)},
    {"dist",
     {false,
      [](bench_options& o, std::string_view v) {
        return parse_distribution(v, o.dist);
      },
      "uniform or zipfian"}},
    {"duration", real(&bench_options::duration_s)},
    {"ops", number(&bench_options::ops)},
    {"rounds", number(&bench_options::rounds)},
    {"warmup-keys", flag(&bench_options::warmup_keys)},
    {"seed", number(&bench_options::seed)},
    {"n", number(&bench_options::n)},
    {"r", number(&bench_options::r)},
    {"w", number(&bench_options::w)},
    {"timeout-ms", number(&bench_options::timeout_ms)},
    {"use-context", flag(&bench_options::use_context)},
    {"client-timeouts", flag(&bench_options::client_timeouts)},
    {"host", text(&bench_options::host)},
    {"port", number(&bench_options::port)},
    {"data-dir", text(&bench_options::data_dir)},
    {"keep", flag(&bench_options::keep)},
    {"cache-mb", number(&bench_options::cache_mb)},
    {"durability", text(&bench_options::durability)},
    {"raw-plain", flag(&bench_options::raw_plain)},
    {"store-shards", number(&bench_options::store_shards)},
    {"scheduler-threads", number(&bench_options::scheduler_threads)},
    {"scheduler-policy", text(&bench_options::scheduler_policy)},
    {"csv", flag(&bench_options::csv)},
    {"csv-header", flag(&bench_options::csv_header)},
    {"help", flag(&bench_options::help)},
  };
  return table;
}

std::string fmt_number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

} // namespace

parse_outcome parse_bench_options(const std::vector<std::string>& args) {
  parse_outcome result;
  auto& opts = result.opts;
  bool duration_given = false;
  bool ops_given = false;
  for (auto& arg : args) {
    std::string_view item{arg};
    if (item == "-h") {
      opts.help = true;
      continue;
    }
    if (item.substr(0, 2) != "--") {
      result.error = "unexpected argument '" + arg + "' (options look like "
                     "--name=value; see --help)";
      return result;
    }
    item.remove_prefix(2);
    auto eq = item.find('=');
    auto name = item.substr(0, eq);
    auto spec = option_table().find(name);
    if (spec == option_table().end()) {
      result.error = "unknown option --" + std::string{name} + " (see --help)";
      return result;
    }
    std::string_view value;
    if (eq == std::string_view::npos) {
      if (!spec->second.flag) {
        result.error = "--" + std::string{name} + " needs a value ("
                       + spec->second.expected + "): --" + std::string{name}
                       + "=...";
        return result;
      }
      value = "true";
    } else {
      value = item.substr(eq + 1);
    }
    if (!spec->second.set(opts, value)) {
      result.error = "--" + std::string{name} + "=" + std::string{value}
                     + ": expected " + spec->second.expected;
      return result;
    }
    duration_given |= name == "duration";
    ops_given |= name == "ops";
  }
  if (opts.help)
    return result;
  if (duration_given && ops_given) {
    result.error = "give either --duration or --ops, not both";
    return result;
  }
  if (ops_given)
    opts.duration_s = 0;
  result.error = bench_options_problem(opts);
  return result;
}

std::optional<std::string> bench_options_problem(const bench_options& o) {
  auto range = [](const char* name, uint64_t value, uint64_t lo,
                  uint64_t hi) -> std::optional<std::string> {
    if (value < lo || value > hi)
      return "--" + std::string{name} + "=" + std::to_string(value)
             + " is out of range " + std::to_string(lo) + ".."
             + std::to_string(hi);
    return std::nullopt;
  };
  std::optional<std::string> problem;
  if ((problem = range("clients", o.clients, 1, 4096))
      || (problem = range("raw-clients", o.raw_clients, 0, 4096))
      || (problem = range("depth", o.depth, 1, 1u << 20))
      || (problem = o.rate == 0 || (o.rate >= 0.01 && o.rate <= 10'000'000)
                      ? std::nullopt
                      : std::optional<std::string>{
                        "--rate must be 0 (as fast as possible) or 0.01 to "
                        "10000000"})
      // key_name() has 12 digits.
      || (problem = range("keys", o.keys, 1, 999999999999ULL))
      || (problem = range("value-size", o.value_size, 0,
                          default_max_value_bytes))
      || (problem = range("rounds", o.rounds, 1, 1000))
      || (problem = range("timeout-ms", o.timeout_ms, 1, 3600000))
      || (problem = range("n", o.n, 0, 64))
      || (problem = range("r", o.r, 0, 64))
      || (problem = range("w", o.w, 0, 64))
      || (problem = range("cache-mb", o.cache_mb, 1, 1u << 20))
      || (problem = range("store-shards", o.store_shards, 1, 256))
      || (problem = range("scheduler-threads", o.scheduler_threads, 0, 1024)))
    return problem;
  if (!(o.read_ratio >= 0 && o.read_ratio <= 1))
    return "--read-ratio=" + fmt_number(o.read_ratio)
           + " must be between 0 and 1";
  if (o.ops > 0 && o.mode == bench_mode::compare && o.ops < o.rounds)
    return "--ops=" + std::to_string(o.ops) + " is fewer than --rounds="
           + std::to_string(o.rounds);
  if (o.ops == 0 && !(o.duration_s > 0))
    return std::string{"--duration must be above 0 (or give --ops=N)"};
  if (o.duration_s > 86400)
    return std::string{"--duration is limited to 86400 seconds"};
  if (o.n > 0 && (o.r > o.n || o.w > o.n))
    return "--r and --w must not exceed --n=" + std::to_string(o.n);
  if (o.mode == bench_mode::remote && o.port == 0)
    return std::string{"--port must be 1..65535 for --mode=remote"};
  if (o.mode == bench_mode::remote && o.host.empty())
    return std::string{"--host must not be empty for --mode=remote"};
  if (o.mode != bench_mode::remote && o.data_dir.empty())
    return std::string{"--data-dir must not be empty"};
  if (o.durability != "write" && o.durability != "fsync")
    return "--durability=" + o.durability + ": expected write or fsync";
  if (o.raw_plain && o.mode != bench_mode::raw && o.mode != bench_mode::compare)
    return std::string{"--raw-plain applies only to --mode=raw or compare"};
  if (!o.client_timeouts && o.mode != bench_mode::embedded
      && o.mode != bench_mode::compare)
    return std::string{"--client-timeouts=false is only safe in-process "
                       "(--mode=embedded or compare)"};
  if (!o.scheduler_policy.empty() && o.scheduler_policy != "stealing"
      && o.scheduler_policy != "sharing")
    return "--scheduler-policy=" + o.scheduler_policy
           + ": expected stealing or sharing";
  return std::nullopt;
}

std::string bench_usage() {
  return R"(kvbench: load generator for kvactors

usage: kvbench --mode=raw|embedded|remote|compare [options]

modes
  raw        WiredTiger in this process, one session per client thread (the
             baseline); a put is read + encode_siblings + write, a get a read
             (--raw-plain: bare byte put/get)
  embedded   a node started in this process (kv::node::start, not published),
             driven by client actors in the same actor system
  remote     a running node at --host/--port, through CAF remoting
  compare    raw, then embedded, same workload; prints embedded/raw

workload
  --clients=N         client actors / raw threads            [4]
  --raw-clients=N     raw threads, if not --clients          [--clients]
  --depth=N           requests in flight per client actor    [16]
  --rate=R            offered requests/s over all clients, at
                      most depth in flight each (0: closed loop;
                      embedded and remote)                   [0]
  --keys=N            key space                              [100000]
  --value-size=N      bytes per value                        [100]
  --read-ratio=X      share of gets, 0..1                    [0.5]
  --dist=D            uniform | zipfian (YCSB, theta 0.99)   [uniform]
  --duration=S        seconds to measure                     [10]
  --ops=N             or: operations to measure
  --rounds=N          compare: alternate raw and embedded in N
                      windows of duration/N (or ops/N) each  [5]
  --warmup-keys=B     preload every key before measuring     [true]
  --seed=N            workload seed                          [42]

requests
  --n=N --r=N --w=N   request_options (0: node default)      [0]
  --timeout-ms=N      request timeout                        [5000]
  --use-context=B     put with the last context seen for the key [true]
                      (false: blind puts, each kept as a sibling)
  --client-timeouts=false
                      embedded: client requests without a timeout (keeps
                      them off CAF's actor clock, to measure its cost)

target and storage
  --host=H --port=P   remote node                            [127.0.0.1:4000]
  --data-dir=DIR      parent of the fresh data directories   [/tmp/kvbench]
  --keep              keep the data directories
  --cache-mb=N        WiredTiger cache                       [256]
  --durability=D      write | fsync                          [write]
  --raw-plain         raw: put/get bytes only
  --store-shards=N    embedded node's replica stores         [2]
  --scheduler-threads=N, --scheduler-policy=stealing|sharing
                      CAF scheduler of the bench's actor system
                      (default: what kvnode uses: cores, sharing)

output
  --csv               one CSV line instead of the table
  --csv-header        print the CSV header line for these options and exit
)";
}

} // namespace kv
