// kvsh: the interactive shell of kvactors (see shell_args.cpp for usage).

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <readline/history.h>
#include <readline/readline.h>

#include <caf/actor_system.hpp>

#include "apps/client/kv_client.hpp"
#include "apps/kvsh/shell_args.hpp"
#include "apps/kvsh/shell_format.hpp"
#include "apps/kvsh/shell_parser.hpp"
#include "apps/kvsh/shell_session.hpp"
#include "messages/version.hpp"

namespace {

constexpr int history_lines = 1000;
// Longer lines (a pasted megabyte value) run but are not kept in history.
constexpr std::size_t history_max_line = 4096;

std::string history_path() {
  auto home = std::getenv("HOME");
  return home != nullptr && *home != '\0' ? std::string{home} + "/.kvsh_history"
                                          : std::string{};
}

// Ctrl-C at the prompt: the line typed so far goes, the shell stays (a
// shell started by scripts/run.sh must not take the cluster down with it).
void cancel_line(int) {
  std::fputs("^C\n", stdout);
  rl_on_new_line();
  rl_replace_line("", 0);
  rl_redisplay();
}

// Tab completion: command names first, then the command's options.
char* complete_next(const char* text, int state) {
  static std::vector<std::string> matches;
  static std::size_t next = 0;
  if (state == 0) {
    matches.clear();
    next = 0;
    std::string line{rl_line_buffer, static_cast<std::size_t>(rl_point)};
    auto first_end = line.find_first_of(" \t");
    auto start = line.find_first_not_of(" \t");
    bool first_word = start == std::string::npos || first_end == std::string::npos
                      || first_end >= static_cast<std::size_t>(rl_point)
                                        - std::strlen(text);
    std::vector<std::string> candidates;
    if (first_word)
      candidates = kv::command_names();
    else
      candidates = kv::command_options(line.substr(start, first_end - start));
    for (auto& c : candidates)
      if (c.compare(0, std::strlen(text), text) == 0)
        matches.push_back(c);
  }
  if (next >= matches.size())
    return nullptr;
  return strdup(matches[next++].c_str());
}

char** complete(const char* text, int, int) {
  rl_attempted_completion_over = 1; // never file names
  return rl_completion_matches(text, complete_next);
}

void run_interactive(kv::shell_session& session) {
  auto path = history_path();
  // append_history needs an existing file, so create it on first use.
  if (!path.empty() && read_history(path.c_str()) != 0)
    write_history(path.c_str());
  stifle_history(history_lines);
  rl_attempted_completion_function = complete;
  // SA_RESTART: readline's read() goes on after the handler.
  struct sigaction on_interrupt{};
  on_interrupt.sa_handler = cancel_line;
  on_interrupt.sa_flags = SA_RESTART;
  sigemptyset(&on_interrupt.sa_mask);
  sigaction(SIGINT, &on_interrupt, nullptr);
  rl_catch_signals = 0;
  for (;;) {
    auto prompt = "kvsh " + session.address() + "> ";
    char* raw = readline(prompt.c_str());
    if (raw == nullptr) {
      std::cout << '\n';
      break;
    }
    std::string line{raw};
    std::free(raw);
    if (line.find_first_not_of(" \t") != std::string::npos
        && line.size() <= history_max_line) {
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

void run_script(kv::shell_session& session, bool stop_on_error) {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (!session.execute(line))
      break;
    if (stop_on_error && session.failures() > 0)
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
  if (args.version) {
    std::cout << "kvsh (kvactors) " << kv::version << '\n';
    return 0;
  }
  kv::client_config cfg;
  if (auto problem = cfg.use_tls(args.tls.any() ? args.tls
                                                 : kv::tls_files_from_env())) {
    std::cerr << "kvsh: " << *problem << '\n';
    return 2;
  }
  caf::actor_system sys{cfg};
  kv::shell_session session{sys, args, std::cout, std::cerr};
  if (auto problem = session.connect(args.host, args.port)) {
    std::cerr << "error: " << *problem << '\n';
    return 1;
  }
  if (!args.command.empty()) {
    std::string line;
    for (auto& word : args.command)
      line += (line.empty() ? "" : " ") + kv::shell_word(word);
    session.execute(line);
  } else if (isatty(STDIN_FILENO)) {
    run_interactive(session);
  } else {
    run_script(session, args.stop_on_error);
  }
  return session.failures() > 0 ? 1 : 0;
}
