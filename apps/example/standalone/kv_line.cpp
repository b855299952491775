// kv_line: put and get lines against a kvactors cluster, through whichever
// of the given nodes answers. Reads commands from stdin, one per line, and
// answers each with one line, naming the node that served it:
//
//   put KEY VALUE   ->  ok via 127.0.0.1:4000
//   get KEY         ->  VALUE via 127.0.0.1:4001   (siblings joined by '|')
//                   ->  (not found) via ...
//   any failure     ->  error: <what the client library said>
//
//   kv_line --nodes=127.0.0.1:4000,127.0.0.1:4001 [--r=1] [--w=1]
//           [--timeout-ms=1000]
//
// It uses only the installed package (see CMakeLists.txt here): the client
// configuration, blocking_client::connect with several addresses (the
// client moves to the next node when its node is lost), contexts (a put
// carries the context of the key's last get, so it replaces what was read).

#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "apps/client/kv_client.hpp"

namespace {

class line_config : public kv::client_config {
public:
  std::string nodes = "127.0.0.1:4000";
  uint32_t r = 0; // 0: the node's default
  uint32_t w = 0;
  uint32_t timeout_ms = 0;

  line_config() {
    opt_group{custom_options_, "global"}
      .add(nodes, "nodes", "host:port,... of nodes to use, in this order")
      .add(r, "r", "read quorum (0: the node's default)")
      .add(w, "w", "write quorum (0: the node's default)")
      .add(timeout_ms, "timeout-ms", "request timeout (0: the node's)");
  }
};

std::string served_by(const kv::blocking_client& client) {
  return " via " + client.node_address();
}

} // namespace

int main(int argc, char** argv) {
  line_config cfg;
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "kv_line: " << cfg.render(err) << std::endl;
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  std::string error;
  auto nodes = kv::parse_endpoints(cfg.nodes, "node", error);
  if (!nodes || nodes->empty()) {
    std::cerr << "kv_line: " << (nodes ? "no node given" : error) << std::endl;
    return 2;
  }
  if (auto problem = cfg.use_tls(kv::tls_files_from_env())) {
    std::cerr << "kv_line: " << *problem << std::endl;
    return 2;
  }
  caf::actor_system sys{cfg};
  auto client = kv::blocking_client::connect(sys, *nodes);
  if (!client) {
    std::cerr << "kv_line: " << kv::describe(client.error()) << std::endl;
    return 1;
  }
  kv::request_options opts;
  opts.r = cfg.r;
  opts.w = cfg.w;
  opts.timeout_ms = cfg.timeout_ms;
  std::map<std::string, kv::vector_clock> contexts; // of each key's last get
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words{line};
    std::string command, key, value;
    words >> command >> key;
    std::getline(words >> std::ws, value);
    if (command == "put" && !key.empty()) {
      auto done = client->put(key, value, contexts[key], opts);
      if (done)
        std::cout << "ok" << served_by(*client) << std::endl;
      else
        std::cout << "error: " << kv::describe(done.error()) << std::endl;
    } else if (command == "get" && !key.empty()) {
      auto got = client->get(key, opts);
      if (!got) {
        std::cout << "error: " << kv::describe(got.error()) << std::endl;
        continue;
      }
      contexts[key] = got->context;
      std::string values;
      for (auto& version : got->siblings)
        if (!version.tombstone)
          values += (values.empty() ? "" : "|") + version.value;
      std::cout << (values.empty() ? "(not found)" : values)
                << served_by(*client) << std::endl;
    } else {
      std::cout << "error: expected 'put KEY VALUE' or 'get KEY'" << std::endl;
    }
  }
  return 0;
}
