#pragma once

// kvsh's command line. Parsed by hand rather than by CAF's config parser so
// that CAF's own flags (--caf#...) are never accepted by accident and every
// mistake ends in one line.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "messages/limits.hpp"
#include "actors/security/tls_files.hpp"

namespace kv {

struct shell_args {
  std::string host = "127.0.0.1";
  uint16_t port = 4000;
  uint32_t timeout_ms = 0; // per-request default; 0 = the node's default
  std::size_t max_value_bytes = default_max_value_bytes;
  bool help = false;
  bool version = false;
  // Scripts: stop at the first command that fails (else every command
  // runs and the exit status says whether any failed).
  bool stop_on_error = false;
  // Scripts: get prints only the values, verbatim; writes print nothing.
  bool raw = false;
  // One command given on the command line (`kvsh get user:1`): run it and
  // exit with its status instead of reading commands.
  std::vector<std::string> command;
  // Certificates to speak TLS with (--tls-*; unset: KV_TLS_* from the
  // environment; none: plain TCP).
  tls_files tls;
};

struct parsed_args {
  shell_args args;
  std::optional<std::string> error;
};

// Parses the arguments after the program name. Accepts --name=value and
// --name value.
parsed_args parse_shell_args(const std::vector<std::string>& argv);

// The text --help prints.
const char* shell_usage_text();

} // namespace kv
