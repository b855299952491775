// kvsh: the interactive shell of kvactors (see shell_args.cpp for usage).

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <readline/history.h>
#include <readline/readline.h>

#include <caf/actor_system.hpp>

#include "apps/client/kv_client.hpp"
#include "apps/kvsh/shell_args.hpp"
#include "apps/kvsh/shell_session.hpp"

namespace {

constexpr int history_lines = 1000;

std::string history_path() {
  auto home = std::getenv("HOME");
  return home != nullptr && *home != '\0' ? std::string{home} + "/.kvsh_history"
                                          : std::string{};
}

void run_interactive(kv::shell_session& session) {
  auto path = history_path();
  // append_history needs an existing file, so create it on first use.
  if (!path.empty() && read_history(path.c_str()) != 0)
    write_history(path.c_str());
  stifle_history(history_lines);
  for (;;) {
    char* raw = readline("kvsh> ");
    if (raw == nullptr) {
      std::cout << '\n';
      break;
    }
    std::string line{raw};
    std::free(raw);
    if (line.find_first_not_of(" \t") != std::string::npos) {
      add_history(line.c_str());
      // Appending after each line keeps history across a killed terminal.
      if (!path.empty())
        append_history(1, path.c_str());
    }
    if (!session.execute(line))
      break;
  }
  if (!path.empty())
    history_truncate_file(path.c_str(), history_lines);
}

void run_script(kv::shell_session& session) {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (!session.execute(line))
      break;
  }
}

} // namespace

int main(int argc, char** argv) {
  auto parsed = kv::parse_shell_args({argv + 1, argv + argc});
  if (parsed.error) {
    std::cerr << "kvsh: " << *parsed.error << '\n';
    return 2;
  }
  auto& args = parsed.args;
  if (args.help) {
    std::cout << kv::shell_usage_text();
    return 0;
  }
  kv::client_config cfg;
  caf::actor_system sys{cfg};
  kv::shell_session session{sys, args, std::cout, std::cerr};
  if (auto problem = session.connect(args.host, args.port)) {
    std::cerr << "error: " << *problem << '\n';
    return 1;
  }
  if (isatty(STDIN_FILENO))
    run_interactive(session);
  else
    run_script(session);
  return 0;
}
