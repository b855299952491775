// kvcheck: the client half of the fault-injection checker (scripts/
// faultcheck.sh runs the cluster and the nemeses).
//   kvcheck run   --nodes=n1=HOST:PORT,... --log=ops.jsonl [options]
//   kvcheck check --nodes=... --log=ops.jsonl --events=events.jsonl
//                 [--incidents=FILE] --out=result.json [options]
// run drives the workloads for --duration-s and logs every request; check,
// after the orchestration healed everything, reads the final state back and
// judges the history. Exit: 0 valid, 1 violations found, 2 bad usage.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "messages/version.hpp"
#include "apps/client/kv_client.hpp"
#include "apps/kvcheck/analysis.hpp"
#include "apps/kvcheck/workload.hpp"

namespace {

using namespace kv::check;

class arguments {
public:
  arguments(int argc, char** argv) {
    for (int i = 2; i < argc; ++i) {
      std::string arg = argv[i];
      auto eq = arg.find('=');
      if (arg.rfind("--", 0) != 0 || eq == std::string::npos)
        bad_ = arg;
      else
        values_[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
    }
  }

  std::string text(const std::string& name, const std::string& fallback) {
    used_.insert(name);
    auto i = values_.find(name);
    return i == values_.end() ? fallback : i->second;
  }

  uint32_t number(const std::string& name, uint32_t fallback) {
    auto x = text(name, "");
    return x.empty() ? fallback : static_cast<uint32_t>(std::stoul(x));
  }

  // The first argument that is malformed or that no option read.
  std::optional<std::string> unknown() const {
    if (!bad_.empty())
      return bad_;
    for (auto& [name, value] : values_)
      if (used_.count(name) == 0)
        return "--" + name;
    return std::nullopt;
  }

private:
  std::map<std::string, std::string> values_;
  std::set<std::string> used_;
  std::string bad_;
};

int usage(const std::string& why) {
  std::cerr << "kvcheck: " << why
            << "\nusage: kvcheck run|check --nodes=n1=HOST:PORT,... "
               "--log=FILE [--n= --r= --w= --timeout-ms=]\n"
               "  run:   [--duration-s=60 --unique-workers=4 --set-workers=3 "
               "--hot-keys=3 --delete-percent=20 --seed=1 --prefix=r --pause-ms=20\n"
               "          --stop-file=PATH (stop once it exists)\n"
               "          --resp-nodes=n1=HOST:PORT,... (drive the Redis "
               "gateways instead) --resp-password-file=PATH]\n"
               "  check: --events=FILE --out=FILE [--incidents=FILE "
               "--converge-timeout-s=60 --reap-timeout-s=0]\n";
  return 2;
}

template <class T, class Parse>
std::vector<T> read_lines(const std::string& path, Parse parse) {
  std::vector<T> out;
  std::ifstream in{path};
  if (!in)
    throw std::runtime_error("cannot read " + path);
  std::string line, error;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty())
      continue;
    auto x = parse(line, error);
    // A run killed mid-line leaves a torn last line; anything else is a bug.
    if (!x) {
      if (in.peek() == EOF)
        break;
      throw std::runtime_error(path + ":" + std::to_string(number) + ": "
                               + error);
    }
    out.push_back(std::move(*x));
  }
  return out;
}

std::vector<std::string> read_text_lines(const std::string& path) {
  std::vector<std::string> out;
  if (path.empty())
    return out;
  std::ifstream in{path};
  std::string line;
  while (std::getline(in, line))
    if (!line.empty())
      out.push_back(line);
  return out;
}

int run_mode(caf::actor_system& sys, arguments& args,
             const std::vector<node_address>& nodes,
             const kv::request_options& req) {
  workload_options opts;
  opts.nodes = nodes;
  opts.request = req;
  opts.duration_s = args.number("duration-s", 60);
  opts.unique_workers = args.number("unique-workers", 4);
  opts.set_workers = args.number("set-workers", 3);
  opts.hot_keys = std::max(1u, args.number("hot-keys", 3));
  opts.delete_percent = args.number("delete-percent", 20);
  opts.seed = args.number("seed", 1);
  opts.pause_ms = args.number("pause-ms", 20);
  opts.prefix = args.text("prefix", "r");
  opts.stop_file = args.text("stop-file", "");
  auto resp_nodes = args.text("resp-nodes", "");
  if (!resp_nodes.empty()) {
    std::string error;
    opts.resp_nodes = parse_nodes(resp_nodes, error);
    if (opts.resp_nodes.empty())
      return usage("--resp-nodes: " + error);
  }
  auto password_file = args.text("resp-password-file", "");
  if (!password_file.empty()) {
    std::ifstream in{password_file};
    if (!in || !std::getline(in, opts.resp_password))
      return usage("cannot read --resp-password-file " + password_file);
  }
  auto path = args.text("log", "");
  if (auto bad = args.unknown())
    return usage("unknown argument " + *bad);
  if (path.empty())
    return usage("--log is required");
  std::ofstream log{path, std::ios::app};
  if (!log)
    return usage("cannot write " + path);
  run_workload(sys, opts, log);
  return 0;
}

int check_mode(caf::actor_system& sys, arguments& args,
               const std::vector<node_address>& nodes,
               const kv::request_options& req) {
  final_options opts;
  opts.nodes = nodes;
  opts.request = req;
  opts.converge_timeout_s = args.number("converge-timeout-s", 60);
  opts.reap_timeout_s = args.number("reap-timeout-s", 0);
  auto log_path = args.text("log", "");
  auto events_path = args.text("events", "");
  auto incidents_path = args.text("incidents", "");
  auto out_path = args.text("out", "");
  if (auto bad = args.unknown())
    return usage("unknown argument " + *bad);
  if (log_path.empty() || events_path.empty() || out_path.empty())
    return usage("--log, --events and --out are required");
  auto history = read_lines<op_record>(log_path, parse_op);
  auto events = read_lines<cluster_event>(events_path, parse_event);
  std::map<std::string, key_state> states;
  auto conv = read_final_state(sys, opts, keys_of(history), states);
  auto result = analyse(history, events, states, conv,
                        read_text_lines(incidents_path));
  std::ofstream out{out_path};
  out << result.to_json();
  std::cout << result.summary() << std::endl;
  return result.valid() ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  if (kv::print_version_if_asked(argc, argv, "kvcheck"))
    return 0;
  if (argc < 2)
    return usage("no mode given");
  std::string mode = argv[1];
  if (mode != "run" && mode != "check")
    return usage("unknown mode '" + mode + "'");
  arguments args{argc, argv};
  std::string error;
  auto nodes = parse_nodes(args.text("nodes", ""), error);
  if (nodes.empty())
    return usage(error);
  kv::request_options req;
  req.n = args.number("n", 3);
  req.r = args.number("r", 2);
  req.w = args.number("w", 2);
  req.timeout_ms = args.number("timeout-ms", 3000);
  int rc = 0;
  {
    kv::client_config cfg;
    if (auto problem = cfg.use_tls(kv::tls_files_from_env())) {
      std::cerr << "kvcheck: " << *problem << std::endl;
      return 2;
    }
    caf::actor_system sys{cfg};
    try {
      rc = mode == "run" ? run_mode(sys, args, nodes, req)
                         : check_mode(sys, args, nodes, req);
    } catch (const std::exception& e) {
      std::cerr << "kvcheck: " << e.what() << std::endl;
      rc = 2;
    }
    std::cout.flush();
    // The log and result are written and flushed. CAF 0.17's ~actor_system
    // waits for every proxy of a remote actor to go, which a node that was
    // killed mid-run can delay indefinitely: end here (as kvnode does).
    std::fflush(nullptr);
    std::_Exit(rc);
  }
}
