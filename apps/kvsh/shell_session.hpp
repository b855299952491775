#pragma once

// One kvsh session: a connection to a node plus what the user read, running
// parsed commands against it. Results go to `out`, errors to `err`, both
// flushed after every command so a script that merges them (2>&1) sees each
// command's output in order.

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "apps/client/kv_client.hpp"
#include "apps/kvsh/shell_args.hpp"
#include "apps/kvsh/shell_format.hpp"
#include "apps/kvsh/shell_parser.hpp"

namespace kv {

class shell_session {
public:
  shell_session(caf::actor_system& sys, const shell_args& args,
                std::ostream& out, std::ostream& err);

  // Switches to the node at host:port. On failure keeps the current node
  // and returns the error line ("cannot reach node at ...").
  std::optional<std::string> connect(const std::string& host, uint16_t port);

  // Runs one line; false once the user asked to quit. Needs a successful
  // connect first.
  bool execute(std::string_view line);

  // Commands that failed so far (an error line was reported).
  std::size_t failures() const { return failures_; }

  // "host:port" of the node the shell talks to.
  std::string address() const {
    return host_ + ":" + std::to_string(port_);
  }

private:
  void run(const shell_command& cmd);
  void run_get(const shell_command& cmd);
  void run_ring_change(const shell_command& cmd);
  void run_anti_entropy(const shell_command& cmd);
  void run_autoscale(const shell_command& cmd);
  void run_cluster_view(const shell_command& cmd);
  // Every member's hints, asked of each member directly.
  std::vector<held_hints> cluster_hints(const std::vector<member_info>& members);
  void run_write(const shell_command& cmd);
  void report(const std::string& message);
  request_options with_defaults(request_options opts) const;

  caf::actor_system& sys_;
  // Watches the node and connects to its address again after losing it.
  std::optional<blocking_client> client_;
  std::string host_;
  uint16_t port_ = 0;
  uint32_t default_timeout_ms_;
  std::size_t max_value_bytes_;
  bool raw_; // --raw
  // Context of the latest get per key, for ctx=@.
  std::unordered_map<std::string, vector_clock> read_contexts_;
  std::ostream& out_;
  std::ostream& err_;
  std::size_t failures_ = 0;
};

} // namespace kv
