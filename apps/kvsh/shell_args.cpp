#include "apps/kvsh/shell_args.hpp"

#include <limits>

#include "apps/kvsh/shell_parser.hpp"

namespace kv {

parsed_args parse_shell_args(const std::vector<std::string>& argv) {
  parsed_args result;
  auto& args = result.args;
  auto fail = [&](std::string message) {
    result.error = std::move(message) + " (see kvsh --help)";
    return result;
  };
  for (std::size_t i = 0; i < argv.size(); ++i) {
    auto& arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      args.help = true;
      continue;
    }
    if (arg == "--version") {
      args.version = true;
      continue;
    }
    if (arg == "--stop-on-error" || arg == "-e") {
      args.stop_on_error = true;
      continue;
    }
    if (arg == "--raw") {
      args.raw = true;
      continue;
    }
    if (arg.compare(0, 1, "-") != 0) {
      // The command: this word and every one after it.
      args.command.assign(argv.begin() + static_cast<std::ptrdiff_t>(i),
                          argv.end());
      break;
    }
    if (arg.compare(0, 2, "--") != 0)
      return fail("unknown flag '" + arg + "'");
    auto eq = arg.find('=');
    auto name = arg.substr(0, eq);
    if (name != "--host" && name != "--port" && name != "--timeout-ms"
        && name != "--max-value-bytes" && name != "--tls-ca"
        && name != "--tls-cert" && name != "--tls-key")
      return fail("unknown flag '" + name + "'");
    std::string value;
    if (eq != std::string::npos)
      value = arg.substr(eq + 1);
    else if (i + 1 < argv.size())
      value = argv[++i];
    else
      return fail(name + " needs a value");
    if (name.compare(0, 6, "--tls-") == 0) {
      if (value.empty())
        return fail(name + " must name a file");
      (name == "--tls-ca"     ? args.tls.ca
       : name == "--tls-cert" ? args.tls.cert
                              : args.tls.key)
        = value;
    } else if (name == "--host") {
      if (value.empty())
        return fail("--host must not be empty");
      args.host = value;
    } else if (name == "--port") {
      auto port = parse_port(value);
      if (!port)
        return fail("--port must be a number from 1 to 65535, got '" + value
                    + "'");
      args.port = *port;
    } else if (name == "--timeout-ms") {
      auto ms = parse_unsigned(value, std::numeric_limits<uint32_t>::max());
      if (!ms)
        return fail("--timeout-ms must be a number of milliseconds, got '"
                    + value + "'");
      args.timeout_ms = static_cast<uint32_t>(*ms);
    } else {
      auto bytes = parse_unsigned(value, std::numeric_limits<uint32_t>::max());
      if (!bytes)
        return fail("--max-value-bytes must be a number of bytes, got '"
                    + value + "'");
      args.max_value_bytes = static_cast<std::size_t>(*bytes);
    }
  }
  return result;
}

const char* shell_usage_text() {
  return "usage: kvsh [--host=H] [--port=P] [--timeout-ms=T] "
         "[--max-value-bytes=B] [--tls-ca=F --tls-cert=F --tls-key=F]\n"
         "            [-e] [--raw] [COMMAND [ARG...]]\n"
         "Interactive shell of kvactors: connects to one node's coordinator.\n"
         "With a COMMAND (kvsh get user:1) it runs that one command and\n"
         "exits: 0 if it succeeded, 1 if it failed.\n"
         "  --host=H             node address (default 127.0.0.1)\n"
         "  --port=P             node port (default 4000)\n"
         "  --timeout-ms=T       default request timeout; 0 = the node's "
         "(default 0)\n"
         "  --max-value-bytes=B  refuse larger values before sending "
         "(default 1048576)\n"
         "  --tls-ca=FILE        CA of the nodes' certificates (PEM)\n"
         "  --tls-cert=FILE      this shell's certificate (PEM, from the\n"
         "                       cluster CA: scripts/certs.sh operator NAME)\n"
         "  --tls-key=FILE       its private key (PEM); without --tls-*,\n"
         "                       KV_TLS_CA, KV_TLS_CERT and KV_TLS_KEY, else\n"
         "                       plain TCP\n"
         "  -e, --stop-on-error  with commands on stdin: stop at the first\n"
         "                       that fails (else run them all)\n"
         "  --raw                for scripts: get prints each value as it is\n"
         "                       stored and nothing else (a missing key:\n"
         "                       nothing); put and del print nothing\n"
         "  --version            print the version\n"
         "  --help               this text\n"
         "With a terminal on stdin kvsh edits lines with readline and keeps\n"
         "history in ~/.kvsh_history; otherwise it runs one command per line\n"
         "of stdin; the exit status is 1 if any command failed or the node\n"
         "cannot be reached, 2 for bad arguments, else 0. Ctrl-C\n"
         "cancels the line being typed; Ctrl-D or quit leaves. Results go to stdout,\n"
         "errors (\"error: ...\") to stderr; both are flushed after every\n"
         "command, so 2>&1 keeps them in order. Type help for the commands.\n";
}

} // namespace kv
